import { Inject, Injectable } from '@nestjs/common';
import type { Event, EventStatus, Reward } from '@rewards/contracts';
import { decodeCursor, sqlState, toPage } from '@rewards/infrastructure';
import { asDate, DATABASE, rowsOf, type Database, type Db } from '@rewards/infrastructure/persistence';
import { and, asc, desc, eq, lt, ne, or, sql } from 'drizzle-orm';
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
export const eventLockKey = (eventId: string) => sql`hashtext(${`event:${eventId}`})`;

@Injectable()
export class EventRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  /**
   * Whether the database's time zone data knows a zone. Requests are validated with ICU, which
   * still accepts names tzdata has dropped (US/Pacific-New); conditions count days in SQL.
   */
  async knowsTimeZone(timeZone: string): Promise<boolean> {
    try {
      await this.database.db.execute(sql`select now() at time zone ${timeZone}`);
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

  async find(id: string, db: Db = this.database.db): Promise<{ row: EventRow; locked: boolean } | undefined> {
    const [found] = await db.select({ row: events, locked: hasClaims }).from(events).where(eq(events.id, id));
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

  async list(filter: { status?: EventStatus; hideDrafts: boolean; limit: number; cursor?: string }) {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const rows = await this.database.db
      .select({ row: events, locked: hasClaims })
      .from(events)
      .where(
        and(
          filter.status ? eq(events.status, filter.status) : undefined,
          filter.hideDrafts ? ne(events.status, 'DRAFT') : undefined,
          after ? or(lt(events.createdAt, after.at), and(eq(events.createdAt, after.at), lt(events.id, after.id))) : undefined,
        ),
      )
      .orderBy(desc(events.createdAt), desc(events.id))
      .limit(filter.limit + 1);
    return toPage(rows, filter.limit, (r) => ({ at: r.row.createdAt, id: r.row.id }), (r) => toEvent(r.row, r.locked));
  }

  /** The event and its rewards in one round trip: the claim path reads both on every attempt. */
  async withRewards(tx: Db, id: string): Promise<{ event: EventRow; rewards: RewardRow[] } | undefined> {
    const [row] = rowsOf<Record<string, unknown>>(
      await tx.execute(sql`
        select e.id, e.title, e.description, e.starts_at, e.ends_at, e.timezone, e.status, e.condition, e.approval,
               e.repeat, e.created_by, e.created_at, e.updated_at,
               coalesce((select jsonb_agg(jsonb_build_object('id', r.id, 'type', r.type, 'name', r.name, 'itemCode', r.item_code,
                                 'quantity', r.quantity, 'stock', r.stock, 'remaining', r.remaining, 'createdAt', r.created_at)
                                 order by r.created_at, r.id)
                         from rewards r where r.event_id = e.id), '[]'::jsonb) as rewards
        from events e where e.id = ${id}`),
    );
    if (!row) return undefined;
    const event: EventRow = {
      id: row.id as string,
      title: row.title as string,
      description: row.description as string | null,
      startsAt: asDate(row.starts_at),
      endsAt: asDate(row.ends_at),
      timezone: row.timezone as string,
      status: row.status as EventRow['status'],
      condition: row.condition as EventRow['condition'],
      approval: row.approval as EventRow['approval'],
      repeat: row.repeat as EventRow['repeat'],
      createdBy: row.created_by as string,
      createdAt: asDate(row.created_at),
      updatedAt: asDate(row.updated_at),
    };
    const rewardRows = (row.rewards as (Omit<RewardRow, 'createdAt' | 'eventId'> & { createdAt: string })[]).map((r) => ({
      ...r,
      eventId: event.id,
      createdAt: new Date(r.createdAt),
    }));
    return { event, rewards: rewardRows };
  }

  async rewards(eventId: string, db: Db = this.database.db): Promise<RewardRow[]> {
    return db.select().from(rewards).where(eq(rewards.eventId, eventId)).orderBy(asc(rewards.createdAt), asc(rewards.id));
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
