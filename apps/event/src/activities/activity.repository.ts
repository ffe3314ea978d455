import { Injectable } from '@nestjs/common';
import { ACTIVITY_MAX_FUTURE_MS, type Activity } from '@rewards/contracts';
import { executePrepared, rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { type SQL, sql } from 'drizzle-orm';
import { bucketCeil, bucketFloor, planWindow, type WindowPlan } from '../domain/calendar.js';
import type { PlayerFacts } from '../domain/condition-evaluator.js';

/**
 * How far past now a window's end must lie for its last day to be read from the daily counter. The
 * counter's `last_at` keeps that read exact either way; this only picks the windows where a fact past
 * the end is unlikely (a sender's facts are at most ACTIVITY_MAX_FUTURE_MS ahead, the platform's are
 * stamped by auth's clock), so the read rarely needs a second statement for that day.
 */
const FACTS_HORIZON_MS = ACTIVITY_MAX_FUTURE_MS + 5 * 60_000;

const inList = (values: readonly string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/** `user_id = ${anyOf(ids)}`: one of these players (one parameter, whatever their number, for a prepared statement). */
const anyOf = (userIds: readonly string[]) =>
  sql`any(array(select jsonb_array_elements_text(${JSON.stringify(userIds)}::jsonb)::uuid))`;

@Injectable()
export class ActivityRepository {
  /**
   * Starts keeping daily counters in a zone (an event in it was created), back-filled from the
   * buckets. Exclusive against ingestion, so no activity is counted twice or missed.
   */
  async trackZone(tx: Db, timeZone: string): Promise<void> {
    const known = await tx.execute(sql`select 1 from activity_zones where timezone = ${timeZone}`);
    if (rowsOf(known).length > 0) return;
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('activity-zones'))`);
    const added = rowsOf(
      await tx.execute(
        sql`insert into activity_zones (timezone) values (${timeZone}) on conflict do nothing returning timezone`,
      ),
    );
    if (added.length === 0) return;
    await tx.execute(sql`
      insert into activity_days (user_id, type, timezone, day, count, sum, last_at)
      select user_id, type, ${timeZone}, (bucket at time zone ${timeZone})::date, sum(count), sum(sum),
             max(bucket) + make_interval(mins => 15)
      from activity_buckets
      group by 1, 2, 4`);
  }

  /**
   * Stores new facts (a resent `(source, id)` is a duplicate and changes nothing) and adds the new
   * ones to the per-user bucket counters and highs, in the caller's transaction. Facts go in
   * ordered by id, so batches that overlap (a sender's resends) wait for each other instead of
   * deadlocking on each other's uncommitted rows.
   */
  async ingest(tx: Db, source: string, batch: Activity[]): Promise<{ accepted: number; duplicates: number }> {
    const inserted = rowsOf<{ user_id: string; type: string; occurred_at: string | Date; value: number | null }>(
      await tx.execute(sql`
        insert into activities (source, external_id, user_id, type, occurred_at, value, attributes)
        select ${source}, r.id, r."userId"::uuid, r.type, r."occurredAt"::timestamptz, r.value, r.attributes
        from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb)
          as r(id text, "userId" text, type text, "occurredAt" text, value double precision, attributes jsonb)
        order by r.id
        on conflict (source, external_id) do nothing
        returning user_id, type, occurred_at, value`),
    );
    if (inserted.length > 0) {
      const buckets = new Map<
        string,
        { userId: string; type: string; bucket: string; count: number; sum: number; last: string }
      >();
      const highs = new Map<string, { userId: string; type: string; value: number }>();
      for (const r of inserted) {
        const at = new Date(r.occurred_at);
        const bucket = bucketFloor(at).toISOString();
        const key = `${r.user_id}|${r.type}|${bucket}`;
        const agg = buckets.get(key) ?? { userId: r.user_id, type: r.type, bucket, count: 0, sum: 0, last: '' };
        agg.count += 1;
        agg.sum += r.value ?? 0;
        if (at.toISOString() > agg.last) agg.last = at.toISOString();
        buckets.set(key, agg);
        if (r.value !== null) {
          const hk = `${r.user_id}|${r.type}`;
          const h = highs.get(hk);
          if (!h || r.value > h.value) highs.set(hk, { userId: r.user_id, type: r.type, value: r.value });
        }
      }
      // Sorted, so concurrent batches lock counter rows in the same order.
      const sortedBuckets = [...buckets.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
      const bucketRows = sql`jsonb_to_recordset(${JSON.stringify(sortedBuckets)}::jsonb)
        as r("userId" uuid, type text, bucket timestamptz, count integer, sum double precision, last timestamptz)`;
      await tx.execute(sql`
        insert into activity_buckets (user_id, type, bucket, count, sum)
        select r."userId", r.type, r.bucket, r.count, r.sum
        from ${bucketRows}
        on conflict (user_id, type, bucket) do update
          set count = activity_buckets.count + excluded.count, sum = activity_buckets.sum + excluded.sum`);
      // Daily counters in every zone events use; the shared lock keeps a zone's back-fill consistent.
      await tx.execute(sql`select pg_advisory_xact_lock_shared(hashtext('activity-zones'))`);
      await tx.execute(sql`
        insert into activity_days (user_id, type, timezone, day, count, sum, last_at)
        select r."userId", r.type, z.timezone, (r.bucket at time zone z.timezone)::date, sum(r.count), sum(r.sum),
               max(r.last)
        from ${bucketRows}
        cross join activity_zones z
        group by 1, 2, 3, 4
        order by 1, 2, 3, 4
        on conflict (user_id, type, timezone, day) do update
          set count = activity_days.count + excluded.count, sum = activity_days.sum + excluded.sum,
              last_at = greatest(activity_days.last_at, excluded.last_at)`);
      if (highs.size > 0) {
        const sortedHighs = [...highs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
        await tx.execute(sql`
          insert into activity_highs (user_id, type, value)
          select r."userId", r.type, r.value
          from jsonb_to_recordset(${JSON.stringify(sortedHighs)}::jsonb)
            as r("userId" uuid, type text, value double precision)
          on conflict (user_id, type) do update set value = greatest(activity_highs.value, excluded.value)`);
      }
    }
    return { accepted: inserted.length, duplicates: batch.length - inserted.length };
  }

  /**
   * Per local day, the count and sum of each of `types` inside a range shorter than a day: whole
   * 15-minute buckets from the counters, the partial buckets at its ends from the facts themselves.
   */
  private partialDays(users: SQL, types: readonly string[], timeZone: string, range: { start: Date; end: Date }): SQL {
    let a = bucketCeil(range.start);
    let b = bucketFloor(range.end);
    if (a >= b) a = b = range.end;
    // The buckets one type at a time: with the type equal, the range bounds the scan of the key
    // (user_id, type, bucket). With `type in (…)` PostgreSQL kept only the player in the index condition
    // and read every bucket of the player's history (0.23 ms at 100,000 activities, for none in range).
    const buckets = sql.join(
      types.map(
        (type) => sql`select user_id, type, bucket as t, count as c, sum as s from activity_buckets
          where user_id = ${users} and type = ${type} and bucket >= ${a.toISOString()} and bucket < ${b.toISOString()}`,
      ),
      sql` union all `,
    );
    return sql`
      select x.user_id, x.type, to_char(x.t at time zone ${timeZone}, 'YYYY-MM-DD') as day, sum(x.c)::int as count,
             sum(x.s)::float8 as sum, false as late
      from (
        ${buckets}
        union all
        select user_id, type, occurred_at, 1, coalesce(value, 0) from activities
        where user_id = ${users} and type in (${inList(types)})
          and ((occurred_at >= ${range.start.toISOString()} and occurred_at < ${a.toISOString()})
            or (occurred_at >= ${b.toISOString()} and occurred_at < ${range.end.toISOString()}))
      ) x
      group by 1, 2, 3`;
  }

  /**
   * Per local day of `timeZone`, the count and sum of each activity type inside [start, end).
   * Whole local days come from the daily counters; partial days at the window's ends from the
   * 15-minute buckets, and partial buckets from the facts themselves; while the window's end is
   * still well ahead (`now`), its last day from its counter too, unless that day already holds a fact
   * past the end (then a second statement reads that day's part). The answer is exact, and its cost
   * grows with the window's length in days, not with the player's history.
   */
  async facts(
    tx: Db,
    userId: string,
    window: { start: Date; end: Date; timeZone: string },
    needed: { windowed: Set<string>; highest: Set<string> },
    now: Date = new Date(),
  ): Promise<PlayerFacts> {
    return (await this.factsOf(tx, [userId], window, needed, now)).get(userId.toLowerCase())!;
  }

  /**
   * `facts` for several players at once, on one window (one event): the same statements, each
   * reading every player's rows. Returns each player's facts, by the player's id in lower case.
   */
  async factsOf(
    tx: Db,
    userIds: readonly string[],
    window: { start: Date; end: Date; timeZone: string },
    needed: { windowed: Set<string>; highest: Set<string> },
    now: Date = new Date(),
  ): Promise<Map<string, PlayerFacts>> {
    type Daily = Map<string, { day: string; count: number; sum: number }[]>;
    const facts = new Map<string, { daily: Daily; highest: Map<string, number> }>(
      userIds.map((id) => [id.toLowerCase(), { daily: new Map(), highest: new Map() }]),
    );
    const users = anyOf(userIds);
    const parts = [];
    let folded: WindowPlan['folded'];
    if (needed.windowed.size > 0) {
      const { start, end, timeZone } = window;
      const types = [...needed.windowed];
      const plan = planWindow(start, end, timeZone, end.getTime() > now.getTime() + FACTS_HORIZON_MS);
      folded = plan.folded;
      const late = plan.folded
        ? sql`(day = ${plan.folded.day}::date and last_at >= ${plan.folded.end.toISOString()})`
        : sql`false`;
      if (plan.fullDays) {
        parts.push(sql`
          select user_id, type, to_char(day, 'YYYY-MM-DD') as day, count, sum, ${late} as late from activity_days
          where user_id = ${users} and type in (${inList(types)}) and timezone = ${timeZone}
            and day >= ${plan.fullDays.from}::date and day < ${plan.fullDays.to}::date`);
      }
      for (const range of plan.partial) parts.push(this.partialDays(users, types, timeZone, range));
    }
    if (needed.highest.size > 0) {
      parts.push(sql`select user_id, type, null as day, 0 as count, value as sum, false as late from activity_highs
        where user_id = ${users} and type in (${inList([...needed.highest])})`);
    }
    if (parts.length === 0) return facts;
    type Row = { user_id: string; type: string; day: string | null; count: number; sum: number; late: boolean };
    // One round trip: a day of null marks an all-time high.
    let rows = rowsOf<Row>(await executePrepared(tx, sql.join(parts, sql` union all `)));
    const lateRows = rows.filter((r) => r.late);
    if (folded && lateRows.length > 0) {
      // That day holds a fact past the window's end (one the platform stamped ahead): its part inside, exactly.
      const late = new Set(lateRows.map((r) => `${r.user_id} ${r.type}`));
      const inside = this.partialDays(
        anyOf([...new Set(lateRows.map((r) => r.user_id))]),
        [...new Set(lateRows.map((r) => r.type))],
        window.timeZone,
        folded,
      );
      const insideRows = rowsOf<Row>(await executePrepared(tx, inside)).filter((r) =>
        late.has(`${r.user_id} ${r.type}`),
      );
      rows = [...rows.filter((r) => !r.late), ...insideRows];
    }
    for (const r of rows) {
      const { daily, highest } = facts.get(r.user_id)!;
      if (r.day === null) {
        highest.set(r.type, Number(r.sum));
        continue;
      }
      const list = daily.get(r.type) ?? [];
      const same = list.find((d) => d.day === r.day);
      if (same) {
        same.count += Number(r.count);
        same.sum += Number(r.sum);
      } else list.push({ day: r.day, count: Number(r.count), sum: Number(r.sum) });
      daily.set(r.type, list);
    }
    return facts;
  }
}
