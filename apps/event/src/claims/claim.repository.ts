import { Inject, Injectable } from '@nestjs/common';
import type { Claim, ClaimStatus, Grant } from '@rewards/contracts';
import { DATABASE, decodeCursor, toPage, type Database, type Db } from '@rewards/infrastructure';
import { and, desc, eq, gte, inArray, lt, lte, or, sql } from 'drizzle-orm';
import { claims, grants, idempotencyKeys, type ClaimRow, type GrantRow } from '../schema.js';

export const toClaim = (r: ClaimRow): Claim => ({
  id: r.id,
  eventId: r.eventId,
  userId: r.userId,
  periodKey: r.periodKey,
  status: r.status,
  reason: r.reason,
  note: r.note,
  rewards: r.rewards,
  createdAt: r.createdAt.toISOString(),
  decidedAt: r.decidedAt?.toISOString() ?? null,
  decidedBy: r.decidedBy,
});

export const toGrant = (r: GrantRow): Grant => ({
  id: r.id,
  claimId: r.claimId,
  eventId: r.eventId,
  rewardId: r.rewardId,
  type: r.type,
  name: r.name,
  itemCode: r.itemCode,
  quantity: r.quantity,
  grantedAt: r.grantedAt.toISOString(),
});

export const ACTIVE_CLAIM_INDEX = 'claims_once_per_period';

export interface ClaimFilter {
  eventId?: string;
  userId?: string;
  status?: ClaimStatus;
  from?: string;
  to?: string;
  limit: number;
  cursor?: string;
}

@Injectable()
export class ClaimRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async insert(tx: Db, row: typeof claims.$inferInsert): Promise<ClaimRow> {
    const [created] = await tx.insert(claims).values(row).returning();
    return created!;
  }

  async find(id: string, db: Db = this.database.db): Promise<ClaimRow | undefined> {
    const [row] = await db.select().from(claims).where(eq(claims.id, id));
    return row;
  }

  async lock(tx: Db, id: string): Promise<ClaimRow | undefined> {
    const [row] = await tx.select().from(claims).where(eq(claims.id, id)).for('update');
    return row;
  }

  async decide(tx: Db, id: string, set: Pick<ClaimRow, 'status' | 'reason' | 'note' | 'decidedBy'>): Promise<ClaimRow> {
    const [row] = await tx
      .update(claims)
      .set({ ...set, decidedAt: sql`now()` })
      .where(eq(claims.id, id))
      .returning();
    return row!;
  }

  async activeExists(db: Db, userId: string, eventId: string, periodKey: string): Promise<boolean> {
    const rows = await db
      .select({ id: claims.id })
      .from(claims)
      .where(and(eq(claims.userId, userId), eq(claims.eventId, eventId), eq(claims.periodKey, periodKey), inArray(claims.status, ['PENDING', 'APPROVED'])))
      .limit(1);
    return rows.length > 0;
  }

  async latestInPeriod(userId: string, eventId: string, periodKey: string): Promise<ClaimRow | undefined> {
    const [row] = await this.database.db
      .select()
      .from(claims)
      .where(and(eq(claims.userId, userId), eq(claims.eventId, eventId), eq(claims.periodKey, periodKey)))
      .orderBy(desc(claims.createdAt), desc(claims.id))
      .limit(1);
    return row;
  }

  /** Newest first, keyset-paged on (created_at, id): pages never overlap or skip while claims arrive. */
  async list(f: ClaimFilter) {
    const after = f.cursor ? decodeCursor(f.cursor) : undefined;
    const rows = await this.database.db
      .select()
      .from(claims)
      .where(
        and(
          f.eventId ? eq(claims.eventId, f.eventId) : undefined,
          f.userId ? eq(claims.userId, f.userId) : undefined,
          f.status ? eq(claims.status, f.status) : undefined,
          f.from ? gte(claims.createdAt, new Date(f.from)) : undefined,
          f.to ? lte(claims.createdAt, new Date(f.to)) : undefined,
          after ? or(lt(claims.createdAt, after.at), and(eq(claims.createdAt, after.at), lt(claims.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(claims.createdAt), desc(claims.id))
      .limit(f.limit + 1);
    return toPage(rows, f.limit, (r) => ({ at: r.createdAt, id: r.id }), toClaim);
  }

  async insertGrants(tx: Db, rows: (typeof grants.$inferInsert)[]): Promise<void> {
    if (rows.length) await tx.insert(grants).values(rows).onConflictDoNothing();
  }

  async grantsOf(userId: string, limit: number, cursor?: string) {
    const after = cursor ? decodeCursor(cursor) : undefined;
    const rows = await this.database.db
      .select()
      .from(grants)
      .where(
        and(
          eq(grants.userId, userId),
          after ? or(lt(grants.grantedAt, after.at), and(eq(grants.grantedAt, after.at), lt(grants.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(grants.grantedAt), desc(grants.id))
      .limit(limit + 1);
    return toPage(rows, limit, (r) => ({ at: r.grantedAt, id: r.id }), toGrant);
  }

  /**
   * Claims the key for this request. When another request holds it, this waits for that
   * transaction (the unique index does), then reports the stored outcome.
   */
  async reserveIdempotencyKey(tx: Db, userId: string, key: string, eventId: string): Promise<boolean> {
    const rows = await tx.insert(idempotencyKeys).values({ userId, key, eventId }).onConflictDoNothing().returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async storedResponse(tx: Db, userId: string, key: string) {
    const [row] = await tx.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
    return row;
  }

  async storeResponse(tx: Db, userId: string, key: string, status: number, body: unknown): Promise<void> {
    await tx
      .update(idempotencyKeys)
      .set({ status, body })
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
  }

  async pruneIdempotencyKeys(olderThanHours: number): Promise<void> {
    await this.database.db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, sql`now() - make_interval(hours => ${olderThanHours})`));
  }
}
