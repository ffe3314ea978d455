import { Injectable } from '@nestjs/common';
import type { Event, EventStatus, Reward } from '@rewards/contracts';
import { sqlState, toPage } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { and, asc, desc, eq, getTableColumns, ne, type SQL, sql } from 'drizzle-orm';
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

/**
 * Advisory lock key of one event: claims hold it shared (in `claim_guard`, 0006), changes to frozen
 * fields exclusively. The id is spelled as the database spells a uuid, as `claim_guard` does.
 */
const eventLockKey = (eventId: string) => sql`hashtext('event:' || ${eventId}::uuid::text)`;

/** A reward's remaining units: the sum of its stock counters, null for an unlimited reward. */
export const remainingOf = (rewardId: SQL) =>
  sql<number | null>`(select sum(s.remaining)::int from reward_stock s where s.reward_id = ${rewardId})`;
const remaining = remainingOf(sql`"rewards"."id"`).mapWith((v: unknown) => (v === null ? null : Number(v)));
const rewardColumns = { ...getTableColumns(rewards), remaining };

@Injectable()
export class EventRepository {
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
   * The event and its rewards in one round trip: what the claim path caches (EventDefinitions). One
   * row per reward (the event repeated on each), or a single row with no reward.
   */
  async withRewards(tx: Db, id: string): Promise<{ event: EventRow; rewards: RewardRow[] } | undefined> {
    const rows = await tx
      .select({ event: events, reward: rewardColumns })
      .from(events)
      .leftJoin(rewards, eq(rewards.eventId, events.id))
      .where(eq(events.id, id))
      .orderBy(asc(rewards.createdAt), asc(rewards.id));
    if (rows.length === 0) return undefined;
    return { event: rows[0]!.event, rewards: rows.flatMap((r) => (r.reward ? [r.reward] : [])) };
  }

  async rewards(tx: Db, eventId: string): Promise<RewardRow[]> {
    return tx
      .select(rewardColumns)
      .from(rewards)
      .where(eq(rewards.eventId, eventId))
      .orderBy(asc(rewards.createdAt), asc(rewards.id));
  }

  /** A new reward, and when it is limited its stock split over counters (`reward_stock_split`, 0006). */
  async insertReward(tx: Db, row: typeof rewards.$inferInsert): Promise<RewardRow> {
    const [created] = await tx.insert(rewards).values(row).returning();
    if (row.stock !== null && row.stock !== undefined) {
      await tx.execute(sql`
        insert into reward_stock (reward_id, shard, remaining)
        select ${row.id}, s.shard, s.remaining from reward_stock_split(${row.stock}::int, ${row.quantity}::int) s`);
    }
    return { ...created!, remaining: created!.stock };
  }

  /** A pending claim's units back to its reward's stock, on the counter with the fewest left. */
  async releaseStock(tx: Db, rewardId: string, quantity: number): Promise<void> {
    await tx.execute(sql`
      update reward_stock set remaining = remaining + ${quantity}
      where reward_id = ${rewardId} and shard = (
        select shard from reward_stock where reward_id = ${rewardId} order by remaining, shard limit 1)`);
  }
}
