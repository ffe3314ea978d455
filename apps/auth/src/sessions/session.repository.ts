import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, rowsOf, type Database, type Db } from '@rewards/infrastructure';
import { and, asc, eq, gt, lt, or, sql } from 'drizzle-orm';
import { refreshTokens, sessionRevocations, sessions } from '../schema.js';

/** Revocations sent per poll at most; a longer backlog arrives over the next polls. */
const REVOCATION_PAGE = 50_000;

export type RevocationReason = 'replaced' | 'logout' | 'roles-changed' | 'refresh-reuse';

@Injectable()
export class SessionRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async current(userId: string, db: Db = this.database.db): Promise<string | undefined> {
    const [row] = await db.select({ sessionId: sessions.sessionId }).from(sessions).where(eq(sessions.userId, userId));
    return row?.sessionId;
  }

  async isCurrent(sessionId: string): Promise<boolean> {
    const [row] = await this.database.db.select({ userId: sessions.userId }).from(sessions).where(eq(sessions.sessionId, sessionId));
    return !!row;
  }

  /** The atomic replace behind "one active session per user". */
  async upsert(userId: string, sessionId: string, db: Db): Promise<void> {
    await db
      .insert(sessions)
      .values({ userId, sessionId })
      .onConflictDoUpdate({ target: sessions.userId, set: { sessionId, createdAt: sql`now()` } });
  }

  /** Ends the user's current session (if it is `sessionId`, when given) and publishes the revocation. */
  async revoke(userId: string, reason: RevocationReason, db: Db, sessionId?: string): Promise<string | undefined> {
    const where = sessionId ? and(eq(sessions.userId, userId), eq(sessions.sessionId, sessionId)) : eq(sessions.userId, userId);
    const [gone] = await db.delete(sessions).where(where).returning({ sessionId: sessions.sessionId });
    if (gone) await this.recordRevocation(userId, gone.sessionId, reason, db);
    return gone?.sessionId;
  }

  async recordRevocation(userId: string, sessionId: string, reason: RevocationReason, db: Db): Promise<void> {
    await db.insert(sessionRevocations).values({ userId, sessionId, reason });
  }

  /**
   * Revocations since `since` (with an overlap, so a transaction that committed late is not missed),
   * or all within `window` seconds. `now` is the database clock, to be sent back as the next `since`.
   */
  async revocationsSince(since: Date | undefined, windowSeconds: number, limit = REVOCATION_PAGE) {
    const from = since
      ? sql`${since.toISOString()}::timestamptz - interval '5 seconds'`
      : sql`now() - make_interval(secs => ${windowSeconds})`;
    const [{ now }] = rowsOf<{ now: Date | string }>(await this.database.db.execute(sql`select now() as now`)) as [{ now: Date | string }];
    const items = await this.database.db
      .select({ sessionId: sessionRevocations.sessionId, revokedAt: sessionRevocations.revokedAt })
      .from(sessionRevocations)
      .where(gt(sessionRevocations.revokedAt, from))
      .orderBy(asc(sessionRevocations.revokedAt))
      .limit(limit);
    // A full page: the reader continues from the last row it got, not from now, so nothing is skipped.
    const next = items.length === limit ? items.at(-1)!.revokedAt : new Date(now);
    return { items, now: next };
  }

  /** Revocations older than any token they could refuse. */
  async pruneRevocations(olderThanSeconds: number): Promise<void> {
    await this.database.db.delete(sessionRevocations).where(lt(sessionRevocations.revokedAt, sql`now() - make_interval(secs => ${olderThanSeconds})`));
  }

  /** Refresh tokens that can no longer be used: expired, or spent for longer than a reuse could still matter. */
  async pruneRefreshTokens(): Promise<void> {
    await this.database.db
      .delete(refreshTokens)
      .where(or(lt(refreshTokens.expiresAt, sql`now()`), lt(refreshTokens.usedAt, sql`now() - interval '1 day'`)));
  }

  async insertRefreshToken(row: typeof refreshTokens.$inferInsert, db: Db): Promise<void> {
    await db.insert(refreshTokens).values(row);
  }

  async lockRefreshToken(tokenHash: string, db: Db) {
    const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, tokenHash)).for('update');
    return row;
  }

  async markRefreshTokenUsed(tokenHash: string, db: Db): Promise<void> {
    await db.update(refreshTokens).set({ usedAt: sql`now()` }).where(eq(refreshTokens.tokenHash, tokenHash));
  }
}
