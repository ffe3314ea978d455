import { Injectable } from '@nestjs/common';
import type { Role } from '@rewards/contracts';
import {
  type CommitFeedCursor,
  type Db,
  executePrepared,
  readCommitFeed,
  rowsOf,
} from '@rewards/infrastructure/persistence';
import { and, eq, lt, or, type SQL, sql } from 'drizzle-orm';
import { refreshTokens, sessionRevocations, sessions } from '../schema.js';

/** Revocations sent per poll at most; a longer backlog arrives over the next polls. */
const REVOCATION_PAGE = 50_000;

export type RevocationReason = 'replaced' | 'logout' | 'roles-changed' | 'refresh-reuse' | 'api-key-revoked';

@Injectable()
export class SessionRepository {
  async current(db: Db, userId: string): Promise<string | undefined> {
    const [row] = await db.select({ sessionId: sessions.sessionId }).from(sessions).where(eq(sessions.userId, userId));
    return row?.sessionId;
  }

  async isCurrent(db: Db, sessionId: string): Promise<boolean> {
    const [row] = await db.select({ userId: sessions.userId }).from(sessions).where(eq(sessions.sessionId, sessionId));
    return !!row;
  }

  /** The atomic replace behind "one active session per user". */
  async upsert(tx: Db, userId: string, sessionId: string): Promise<void> {
    await tx
      .insert(sessions)
      .values({ userId, sessionId })
      .onConflictDoUpdate({ target: sessions.userId, set: { sessionId, createdAt: sql`now()` } });
  }

  /**
   * Opens `sessionId` as the user's one current session, in one statement: under the user's row lock
   * (`lockedUser` selects that row `for update`, with its roles) it replaces the current session,
   * records the replaced one as revoked, stores the refresh token and runs `alongside`, statements
   * that belong to the same commit. Answers the roles read under the lock. For a user who no longer
   * exists the statement fails on the sessions' foreign key, and nothing of it is written.
   */
  async open(
    db: Db,
    lockedUser: SQL<{ roles: Role[] }>,
    opening: { userId: string; sessionId: string; refreshToken: { tokenHash: string; expiresAt: Date } },
    alongside: SQL[] = [],
  ): Promise<Role[]> {
    const { userId, sessionId, refreshToken } = opening;
    // The main query reads the locked row, so the lock is taken before any of the writes below run.
    const [row] = rowsOf<{ roles: Role[] }>(
      await executePrepared(
        db,
        sql`
        with account as (${lockedUser}),
        replaced as (
          insert into sessions (user_id, session_id) values (${userId}, ${sessionId})
          on conflict (user_id) do update
             set session_id = excluded.session_id, created_at = now(), replaced_session_id = sessions.session_id
          returning replaced_session_id
        ),
        revoked as (
          insert into session_revocations (user_id, session_id, reason)
          select ${userId}, replaced_session_id, ${'replaced' satisfies RevocationReason}
            from replaced where replaced_session_id is not null
        ),
        refresh as (
          insert into refresh_tokens (token_hash, session_id, user_id, expires_at)
          values (${refreshToken.tokenHash}, ${sessionId}, ${userId}, ${refreshToken.expiresAt})
        )
        ${sql.join(
          alongside.map((statement, i) => sql`, ${sql.raw(`alongside_${i}`)} as (${statement})`),
          sql``,
        )}
        select roles from account`,
      ),
    );
    return row!.roles;
  }

  /** Ends the user's current session (if it is `sessionId`, when given) and publishes the revocation. */
  async revoke(tx: Db, userId: string, reason: RevocationReason, sessionId?: string): Promise<string | undefined> {
    const where = sessionId
      ? and(eq(sessions.userId, userId), eq(sessions.sessionId, sessionId))
      : eq(sessions.userId, userId);
    const [gone] = await tx.delete(sessions).where(where).returning({ sessionId: sessions.sessionId });
    if (gone) await this.recordRevocation(tx, userId, gone.sessionId, reason);
    return gone?.sessionId;
  }

  async recordRevocation(tx: Db, userId: string, sessionId: string, reason: RevocationReason): Promise<void> {
    await tx.insert(sessionRevocations).values({ userId, sessionId, reason });
  }

  /**
   * One page of the revocation feed from `from`, of the revocations of the last `windowSeconds` (older
   * ones refuse only tokens that have expired): in the order their transactions committed, each once
   * to a reader that passes `next` back, however long another transaction runs (see `readCommitFeed`).
   */
  async revocationFeed(db: Db, from: CommitFeedCursor, windowSeconds: number, limit = REVOCATION_PAGE) {
    const { rows, next } = await readCommitFeed<{ session_id: string; revoked_at_ms: string }>(
      db,
      {
        from: sql`session_revocations`,
        columns: sql`session_id, (extract(epoch from revoked_at) * 1000)::bigint::text as revoked_at_ms`,
        tx: sql`tx_id`,
        seq: sql`seq`,
        where: sql`revoked_at > now() - make_interval(secs => ${windowSeconds}::int)`,
      },
      from,
      limit,
    );
    return {
      items: rows.map((r) => ({ sessionId: r.session_id, revokedAt: new Date(Number(r.revoked_at_ms)) })),
      next,
    };
  }

  /** Revocations older than any token they could refuse. */
  async pruneRevocations(db: Db, olderThanSeconds: number): Promise<void> {
    await db
      .delete(sessionRevocations)
      .where(lt(sessionRevocations.revokedAt, sql`now() - make_interval(secs => ${olderThanSeconds})`));
  }

  /** Refresh tokens that can no longer be used: expired, or spent for longer than a reuse could still matter. */
  async pruneRefreshTokens(db: Db): Promise<void> {
    await db
      .delete(refreshTokens)
      .where(or(lt(refreshTokens.expiresAt, sql`now()`), lt(refreshTokens.usedAt, sql`now() - interval '1 day'`)));
  }

  async insertRefreshToken(tx: Db, row: typeof refreshTokens.$inferInsert): Promise<void> {
    await tx.insert(refreshTokens).values(row);
  }

  async lockRefreshToken(tx: Db, tokenHash: string) {
    const [row] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).for('update');
    return row;
  }

  async markRefreshTokenUsed(tx: Db, tokenHash: string): Promise<void> {
    await tx.update(refreshTokens).set({ usedAt: sql`now()` }).where(eq(refreshTokens.tokenHash, tokenHash));
  }
}
