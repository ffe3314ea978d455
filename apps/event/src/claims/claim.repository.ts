import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Claim, ClaimStatus, Grant } from '@rewards/contracts';
import type { RewardSnapshot } from '@rewards/contracts';
import { decodeCursor, toPage } from '@rewards/infrastructure';
import { asDate, DATABASE, rowsOf, type Database, type Db } from '@rewards/infrastructure/persistence';
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

  /**
   * The claim's whole write in one statement: reserve the stocked reward's units (if any), insert the
   * claim only if they were reserved, and write its grants when it is approved. Returns undefined when
   * the stock ran out; a concurrent claim for the same period fails the insert on the unique index,
   * undoing the reservation with it.
   */
  async insertReservingStock(
    tx: Db,
    claim: { id: string; userId: string; eventId: string; periodKey: string; status: 'PENDING' | 'APPROVED'; rewards: RewardSnapshot[]; decidedAt: Date | null; decidedBy: string | null },
    stocked: { rewardId: string; quantity: number } | undefined,
  ): Promise<ClaimRow | undefined> {
    const grants = claim.status === 'APPROVED' ? claim.rewards.map((r) => ({ ...r, id: randomUUID() })) : [];
    const reserved = stocked
      ? sql`update rewards set remaining = remaining - ${stocked.quantity} where id = ${stocked.rewardId} and remaining >= ${stocked.quantity} returning id`
      : sql`select null::uuid as id`;
    const [row] = rowsOf<Record<string, unknown>>(
      await tx.execute(sql`
        with reserved as (${reserved}),
        claim as (
          insert into claims (id, user_id, event_id, period_key, status, rewards, decided_at, decided_by)
          select ${claim.id}, ${claim.userId}, ${claim.eventId}, ${claim.periodKey}, ${claim.status},
                 ${JSON.stringify(claim.rewards)}::jsonb, ${claim.decidedAt?.toISOString() ?? null}::timestamptz, ${claim.decidedBy}
          where exists (select 1 from reserved)
          returning *),
        granted as (
          insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity)
          select g.id, claim.user_id, claim.id, claim.event_id, g."rewardId", g.type, g.name, g."itemCode", g.quantity
          from claim, jsonb_to_recordset(${JSON.stringify(grants)}::jsonb)
            as g(id uuid, "rewardId" uuid, type text, name text, "itemCode" text, quantity integer))
        select * from claim`),
    );
    if (!row) return undefined;
    return {
      id: row.id as string,
      userId: row.user_id as string,
      eventId: row.event_id as string,
      periodKey: row.period_key as string,
      status: row.status as ClaimRow['status'],
      reason: row.reason as ClaimRow['reason'],
      note: row.note as string | null,
      rewards: row.rewards as RewardSnapshot[],
      createdAt: asDate(row.created_at),
      decidedAt: row.decided_at === null ? null : asDate(row.decided_at),
      decidedBy: row.decided_by as string | null,
    };
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
