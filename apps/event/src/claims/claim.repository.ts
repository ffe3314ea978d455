import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Claim, ClaimStatus, Grant, RewardSnapshot } from '@rewards/contracts';
import { toPage } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { and, desc, eq, getTableColumns, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import { EventRepository } from '../events/event.repository.js';
import { afterCursor } from '../keyset.js';
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
  userId: r.userId,
  claimId: r.claimId,
  eventId: r.eventId,
  rewardId: r.rewardId,
  type: r.type,
  name: r.name,
  itemCode: r.itemCode,
  quantity: r.quantity,
  grantedAt: r.grantedAt.toISOString(),
});

/** A new claim as the claim path decides it, before it is written. */
export interface NewClaim {
  id: string;
  userId: string;
  eventId: string;
  periodKey: string;
  status: 'PENDING' | 'APPROVED';
  rewards: RewardSnapshot[];
  decidedAt: Date | null;
  decidedBy: string | null;
}

class OutOfStock extends Error {}

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
  constructor(private readonly events: EventRepository) {}

  async insert(tx: Db, row: typeof claims.$inferInsert): Promise<ClaimRow> {
    const [created] = await tx.insert(claims).values(row).returning();
    return created!;
  }

  /**
   * The claim's whole write: reserve the units of its stocked rewards, insert the claim only if they
   * were all reserved, and write its grants when it is approved. Returns undefined when the stock ran
   * out; a concurrent claim for the same period fails the insert on the unique index, undoing the
   * reservation with it.
   */
  async insertReservingStock(
    tx: Db,
    claim: NewClaim,
    stocked: { rewardId: string; quantity: number }[],
  ): Promise<ClaimRow | undefined> {
    if (stocked.length <= 1) return this.insertReservingOne(tx, claim, stocked[0]);
    return this.insertReservingEach(tx, claim, stocked);
  }

  /** At most one limited reward: reservation, claim and grants in one statement. */
  private async insertReservingOne(
    tx: Db,
    claim: NewClaim,
    stocked: { rewardId: string; quantity: number } | undefined,
  ): Promise<ClaimRow | undefined> {
    const grantRows = claim.status === 'APPROVED' ? claim.rewards.map((r) => ({ ...r, id: randomUUID() })) : [];
    const reserved = tx.$with('reserved', { id: sql<string | null>`id` }).as(
      stocked
        ? sql`update rewards set remaining = remaining - ${stocked.quantity}
              where id = ${stocked.rewardId} and remaining >= ${stocked.quantity} returning id`
        : sql`select null::uuid as id`,
    );
    // The claim's columns as the schema maps them: the row comes back typed, with no mapper.
    const inserted = tx.$with('claim', getTableColumns(claims)).as(sql`
      insert into claims (id, user_id, event_id, period_key, status, rewards, decided_at, decided_by)
      select ${claim.id}, ${claim.userId}, ${claim.eventId}, ${claim.periodKey}, ${claim.status},
             ${JSON.stringify(claim.rewards)}::jsonb, ${claim.decidedAt?.toISOString() ?? null}::timestamptz,
             ${claim.decidedBy}
      where exists (select 1 from ${reserved})
      returning *`);
    // Runs whether or not the outer select reads it, as every data-modifying WITH does.
    const granted = tx.$with('granted', {}).as(sql`
      insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity)
      select g.id, claim.user_id, claim.id, claim.event_id, g."rewardId", g.type, g.name, g."itemCode", g.quantity
      from ${inserted} as claim, jsonb_to_recordset(${JSON.stringify(grantRows)}::jsonb)
        as g(id uuid, "rewardId" uuid, type text, name text, "itemCode" text, quantity integer)`);
    const [row] = await tx.with(reserved, inserted, granted).select().from(inserted);
    return row;
  }

  /** Several limited rewards: reserve each; if any runs out, the savepoint undoes the others. */
  private async insertReservingEach(
    tx: Db,
    claim: NewClaim,
    stocked: { rewardId: string; quantity: number }[],
  ): Promise<ClaimRow | undefined> {
    try {
      return await tx.transaction(async (sp) => {
        const row = await this.insert(sp, claim);
        for (const r of stocked) {
          if (!(await this.events.reserveStock(sp, r.rewardId, r.quantity))) throw new OutOfStock();
        }
        if (claim.status === 'APPROVED') await this.insertGrants(sp, claim);
        return row;
      });
    } catch (err) {
      if (err instanceof OutOfStock) return undefined;
      throw err;
    }
  }

  async find(tx: Db, id: string): Promise<ClaimRow | undefined> {
    const [row] = await tx.select().from(claims).where(eq(claims.id, id));
    return row;
  }

  async lock(tx: Db, id: string): Promise<ClaimRow | undefined> {
    const [row] = await tx.select().from(claims).where(eq(claims.id, id)).for('update');
    return row;
  }

  /** An operator's (or the system's) decision on a claim, stamped with the database's clock. */
  async recordDecision(
    tx: Db,
    id: string,
    set: Pick<ClaimRow, 'status' | 'reason' | 'note' | 'decidedBy'>,
  ): Promise<ClaimRow> {
    const [row] = await tx
      .update(claims)
      .set({ ...set, decidedAt: sql`now()` })
      .where(eq(claims.id, id))
      .returning();
    return row!;
  }

  async activeExists(tx: Db, userId: string, eventId: string, periodKey: string): Promise<boolean> {
    const rows = await tx
      .select({ id: claims.id })
      .from(claims)
      .where(
        and(
          eq(claims.userId, userId),
          eq(claims.eventId, eventId),
          eq(claims.periodKey, periodKey),
          inArray(claims.status, ['PENDING', 'APPROVED']),
        ),
      )
      .limit(1);
    return rows.length > 0;
  }

  async latestInPeriod(tx: Db, userId: string, eventId: string, periodKey: string): Promise<ClaimRow | undefined> {
    const [row] = await tx
      .select()
      .from(claims)
      .where(and(eq(claims.userId, userId), eq(claims.eventId, eventId), eq(claims.periodKey, periodKey)))
      .orderBy(desc(claims.createdAt), desc(claims.id))
      .limit(1);
    return row;
  }

  /** Newest first, keyset-paged on (created_at, id): pages never overlap or skip while claims arrive. */
  async list(tx: Db, f: ClaimFilter) {
    const rows = await tx
      .select()
      .from(claims)
      .where(
        and(
          f.eventId ? eq(claims.eventId, f.eventId) : undefined,
          f.userId ? eq(claims.userId, f.userId) : undefined,
          f.status ? eq(claims.status, f.status) : undefined,
          f.from ? gte(claims.createdAt, new Date(f.from)) : undefined,
          f.to ? lte(claims.createdAt, new Date(f.to)) : undefined,
          afterCursor(claims.createdAt, claims.id, f.cursor),
        ),
      )
      .orderBy(desc(claims.createdAt), desc(claims.id))
      .limit(f.limit + 1);
    return toPage(rows, f.limit, (r) => ({ at: r.createdAt, id: r.id }), toClaim);
  }

  /** Grants are written from the claim's snapshot of its rewards, whichever path approves it. */
  async insertGrants(tx: Db, claim: Pick<ClaimRow, 'id' | 'userId' | 'eventId' | 'rewards'>): Promise<void> {
    if (claim.rewards.length === 0) return;
    await tx
      .insert(grants)
      .values(
        claim.rewards.map((r) => ({
          id: randomUUID(),
          userId: claim.userId,
          claimId: claim.id,
          eventId: claim.eventId,
          rewardId: r.rewardId,
          type: r.type,
          name: r.name,
          itemCode: r.itemCode,
          quantity: r.quantity,
        })),
      )
      .onConflictDoNothing();
  }

  async grantsOf(tx: Db, userId: string, limit: number, cursor?: string) {
    const rows = await tx
      .select()
      .from(grants)
      .where(and(eq(grants.userId, userId), afterCursor(grants.grantedAt, grants.id, cursor)))
      .orderBy(desc(grants.grantedAt), desc(grants.id))
      .limit(limit + 1);
    return toPage(rows, limit, (r) => ({ at: r.grantedAt, id: r.id }), toGrant);
  }

  /**
   * Claims the key for this request. When another request holds it, this waits for that
   * transaction (the unique index does), then reports the stored outcome.
   */
  async reserveIdempotencyKey(tx: Db, userId: string, key: string, eventId: string): Promise<boolean> {
    const rows = await tx
      .insert(idempotencyKeys)
      .values({ userId, key, eventId })
      .onConflictDoNothing()
      .returning({ key: idempotencyKeys.key });
    return rows.length === 1;
  }

  async storedResponse(tx: Db, userId: string, key: string) {
    const [row] = await tx
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
    return row;
  }

  async storeResponse(tx: Db, userId: string, key: string, status: number, body: unknown): Promise<void> {
    await tx
      .update(idempotencyKeys)
      .set({ status, body })
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
  }

  async pruneIdempotencyKeys(tx: Db, olderThanHours: number): Promise<void> {
    await tx
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.createdAt, sql`now() - make_interval(hours => ${olderThanHours})`));
  }
}
