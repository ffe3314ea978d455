import { Injectable } from '@nestjs/common';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { remainingOf } from './event.repository.js';

export interface EventStatsRow {
  claims: Record<string, number>;
  reasons: Record<string, number>;
  players: number;
  rewards: { rewardId: string; name: string; stock: number | null; remaining: number | null; granted: number }[];
}

/** Counts for the console's per-event statistics. */
@Injectable()
export class EventStatsRepository {
  /**
   * One statement, so every count comes from one snapshot. Units granted are read off the approved
   * claims' reward snapshots (the grants' source), which the claims' event index reaches.
   */
  async stats(tx: Db, eventId: string): Promise<EventStatsRow | undefined> {
    const result = await tx.execute(sql`
      with event_claims as (select status, reason, user_id, rewards from claims where event_id = ${eventId}),
      granted as (
        select (r->>'rewardId')::uuid as reward_id, sum((r->>'quantity')::bigint)::int as units
        from event_claims c, jsonb_array_elements(c.rewards) r
        where c.status = 'APPROVED'
        group by 1
      )
      select
        exists (select 1 from events where id = ${eventId}) as found,
        (select coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
           from (select status, count(*)::int as n from event_claims group by status) s) as claims,
        (select coalesce(jsonb_object_agg(reason, n), '{}'::jsonb)
           from (select reason, count(*)::int as n from event_claims where reason is not null group by reason) s)
          as reasons,
        (select count(distinct user_id)::int from event_claims) as players,
        (select coalesce(jsonb_agg(jsonb_build_object(
             'rewardId', r.id, 'name', r.name, 'stock', r.stock, 'remaining', ${remainingOf(sql`r.id`)},
             'granted', coalesce(g.units, 0)) order by r.created_at, r.id), '[]'::jsonb)
           from rewards r left join granted g on g.reward_id = r.id
           where r.event_id = ${eventId}) as rewards`);
    const [row] = rowsOf<{ found: boolean } & EventStatsRow>(result);
    if (!row?.found) return undefined;
    return { claims: row.claims, reasons: row.reasons, players: row.players, rewards: row.rewards };
  }
}
