import { Injectable } from '@nestjs/common';
import type { Event, EventStatus, Reward } from '@rewards/contracts';
import { sqlState, toPage } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { and, asc, desc, eq, ne, sql } from 'drizzle-orm';
import { afterCursor } from '../keyset.js';
import { events, rewards, type EventRow, type RewardRow } from '../schema.js';

export const toReward = (r: RewardRow): Reward => ({
  id: r.id,
  eventId: r.eventId,
  type: r.type,
  name: r.name,
  itemCode: r.itemCode,
  quantity: r.quantity,
  stock: r.stock,
  remaining: r.remaining,
  createdAt: r.createdAt.toISOString(),
});

export const toEvent = (r: EventRow, locked: boolean, rewardRows?: RewardRow[]): Event => ({
  id: r.id,
  title: r.title,
  description: r.description,
  startsAt: r.startsAt.toISOString(),
  endsAt: r.endsAt.toISOString(),
  timezone: r.timezone,
  status: r.status,
  condition: r.condition,
  approval: r.approval,
  repeat: r.repeat,
  locked,
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  ...(rewardRows ? { rewards: rewardRows.map(toReward) } : {}),
});

// Spelled out in full: inside the subquery an unqualified "id" would resolve to the claim's id.
const hasClaims = sql<boolean>`exists (select 1 from claims c where c.event_id = "events"."id")`;

/** Advisory lock key of one event: claims hold it shared, changes to frozen fields exclusively. */
const eventLockKey = (eventId: string) => sql`hashtext(${`event:${eventId}`})`;

@Injectable()
export class EventRepository {
  /** Held by every claim attempt until it commits: claims on one event run side by side. */
  async lockShared(tx: Db, eventId: string): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock_shared(${eventLockKey(eventId)})`);
  }

  /** Waits for claims in flight and keeps new ones out until commit (see EventsService.update). */
  async lockExclusive(tx: Db, eventId: string): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(${eventLockKey(eventId)})`);
  }

  /**
   * Whether the database's time zone data knows a zone. Requests are validated with ICU, which
   * still accepts names tzdata has dropped (US/Pacific-New); conditions count days in SQL.
   * Outside a transaction: the failing statement would abort it.
   */
  async knowsTimeZone(tx: Db, timeZone: string): Promise<boolean> {
    try {
      await tx.execute(sql`select now() at time zone ${timeZone}`);
      return true;
    } catch (err) {
      if (sqlState(err) === '22023') return false;
      throw err;
    }
  }

  async insert(tx: Db, row: typeof events.$inferInsert): Promise<EventRow> {
    const [created] = await tx.insert(events).values(row).returning();
    return created!;
  }

  async find(tx: Db, id: string): Promise<{ row: EventRow; locked: boolean } | undefined> {
    const [found] = await tx.select({ row: events, locked: hasClaims }).from(events).where(eq(events.id, id));
    return found;
  }

  async update(tx: Db, id: string, set: Partial<typeof events.$inferInsert>): Promise<EventRow> {
    const [row] = await tx
      .update(events)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(events.id, id))
      .returning();
    return row!;
  }

  async list(tx: Db, filter: { status?: EventStatus; hideDrafts: boolean; limit: number; cursor?: string }) {
    const rows = await tx
      .select({ row: events, locked: hasClaims })
      .from(events)
      .where(
        and(
          filter.status ? eq(events.status, filter.status) : undefined,
          filter.hideDrafts ? ne(events.status, 'DRAFT') : undefined,
          afterCursor(events.createdAt, events.id, filter.cursor),
        ),
      )
      .orderBy(desc(events.createdAt), desc(events.id))
      .limit(filter.limit + 1);
    return toPage(
      rows,
      filter.limit,
      (r) => ({ at: r.row.createdAt, id: r.row.id }),
      (r) => toEvent(r.row, r.locked),
    );
  }

  /**
   * The event and its rewards in one round trip: the claim path reads both on every attempt. One row
   * per reward (the event repeated on each), or a single row with no reward.
   */
  async withRewards(tx: Db, id: string): Promise<{ event: EventRow; rewards: RewardRow[] } | undefined> {
    const rows = await tx
      .select({ event: events, reward: rewards })
      .from(events)
      .leftJoin(rewards, eq(rewards.eventId, events.id))
      .where(eq(events.id, id))
      .orderBy(asc(rewards.createdAt), asc(rewards.id));
    if (rows.length === 0) return undefined;
    return { event: rows[0]!.event, rewards: rows.flatMap((r) => (r.reward ? [r.reward] : [])) };
  }

  async rewards(tx: Db, eventId: string): Promise<RewardRow[]> {
    return tx
      .select()
      .from(rewards)
      .where(eq(rewards.eventId, eventId))
      .orderBy(asc(rewards.createdAt), asc(rewards.id));
  }

  async insertReward(tx: Db, row: typeof rewards.$inferInsert): Promise<RewardRow> {
    const [created] = await tx.insert(rewards).values(row).returning();
    return created!;
  }

  /** Reserves units if enough remain; false when they do not. Unlimited rewards always succeed. */
  async reserveStock(tx: Db, rewardId: string, quantity: number): Promise<boolean> {
    const updated = await tx
      .update(rewards)
      .set({ remaining: sql`${rewards.remaining} - ${quantity}` })
      .where(and(eq(rewards.id, rewardId), sql`${rewards.remaining} >= ${quantity}`))
      .returning({ id: rewards.id });
    return updated.length === 1;
  }

  async releaseStock(tx: Db, rewardId: string, quantity: number): Promise<void> {
    await tx
      .update(rewards)
      .set({ remaining: sql`least(${rewards.remaining} + ${quantity}, ${rewards.stock})` })
      .where(and(eq(rewards.id, rewardId), sql`${rewards.stock} is not null`));
  }
}
