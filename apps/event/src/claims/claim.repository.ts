import { Injectable } from '@nestjs/common';
import type { Claim, ClaimStatus, Grant } from '@rewards/contracts';
import { toPage } from '@rewards/infrastructure';
import { executePrepared, rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { and, desc, eq, gte, lt, lte, type SQL, sql } from 'drizzle-orm';
import type { StockNeed } from '../domain/claim-decision.js';
import { afterCursor } from '../keyset.js';
import { claims, grants, idempotencyKeys, type ClaimRow, type GrantRow } from '../schema.js';
import { messageRow, subscriberMessages, type ClaimMessage } from '../webhooks/webhook-message.repository.js';

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

/**
 * The grants of the approved claims among `claimRows` (a from-item of claim rows), written from each
 * claim's own reward snapshot. Every path that approves a claim writes its grants with this, inside
 * the statement that approves it; a claim's grants are written once (unique per claim and reward).
 */
const insertGrantsOf = (claimRows: SQL) => sql`
  insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity)
  select gen_random_uuid(), c.user_id, c.id, c.event_id, r."rewardId", r.type, r.name, r."itemCode", r.quantity
  from ${claimRows} c
  cross join lateral jsonb_to_recordset(c.rewards)
    as r("rewardId" uuid, type text, name text, "itemCode" text, quantity integer)
  where c.status = 'APPROVED'
  on conflict (claim_id, reward_id) do nothing
  returning *`;

/** The columns a claim is written with, by the single write and the batch alike (a constant, never input). */
const CLAIM_COLUMNS = sql.raw(
  'id, user_id, event_id, period_key, status, reason, rewards, created_at, decided_at, decided_by',
);

/** Stock counters a claim looks at before it gives up on the ones other claims hold (at most 32, see 0006). */
const SHARDS = 32;

/**
 * Counters of one reward a batch of claims locks at most (its claims share them), leaving the rest
 * to the batches and claims in flight beside it.
 */
const COUNTERS_PER_BATCH = 8;

/** A decided claim, ready to be written in one statement. */
export interface ClaimWrite {
  /** The claim as the API shows it; its times are written as they are here. */
  claim: Claim;
  /** The event version the decision was made on. */
  eventVersion: number;
  /** Units to reserve first; the claim is written only if every one of them is. */
  stock: readonly StockNeed[];
  /**
   * Whether to wait for stock counters other claims hold. Without waiting, a claim that finds every
   * counter with units held by others writes nothing and reports `short`; waiting, `short` means
   * no counter has the units.
   */
  waitForStock: boolean;
  idempotencyKey?: string;
  /** Its webhook message. */
  message: ClaimMessage;
}

/**
 * What one write came to. `stale`: the event changed since the decision's read (nothing written).
 * `short`: a limited reward lacked the units (nothing written). `active`: a rejection not recorded
 * because the player holds a pending or approved claim for the period. A second pending/approved
 * claim fails on ACTIVE_CLAIM_INDEX, a used Idempotency-Key on IDEMPOTENCY_KEY_INDEX.
 */
export type WriteOutcome = { written: true; messages: number } | { written: false; why: 'stale' | 'short' | 'active' };

/** What one claim of `writeMany` came to; `alone`: left out of the batch, to be written on its own. */
export type BatchOutcome = WriteOutcome | { written: false; why: 'alone' };

export const IDEMPOTENCY_KEY_INDEX = 'idempotency_keys_pkey';

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
  async insert(tx: Db, row: typeof claims.$inferInsert): Promise<ClaimRow> {
    const [created] = await tx.insert(claims).values(row).returning();
    return created!;
  }

  /**
   * A claim attempt's whole write, one statement committing on its own: `claim_guard` takes the
   * event's lock and checks the decision's version; then the stock of each limited reward is reserved
   * from one of its counters; then, only if all of that held, the Idempotency-Key with the response,
   * the claim, its grants and its webhook messages. A rejection is recorded only while the player
   * holds no pending or approved claim for the period. The key is written before the claim, so a
   * replay fails on the key (and is answered from it) before it could fail on the claim.
   */
  async write(db: Db, w: ClaimWrite): Promise<WriteOutcome> {
    const { claim } = w;
    const stock = JSON.stringify(w.stock);
    const lock = w.waitForStock ? sql`for update` : sql`for update skip locked`;
    const noActiveClaim =
      claim.status === 'REJECTED'
        ? sql`and not exists (select 1 from claims a where a.user_id = ${claim.userId} and a.event_id = ${claim.eventId}
                and a.period_key = ${claim.periodKey} and a.status in ('PENDING', 'APPROVED'))`
        : sql``;
    const keyed = w.idempotencyKey !== undefined;
    const result = await executePrepared(
      db,
      sql`
      with fresh as (select claim_guard(${claim.eventId}::uuid, ${w.eventVersion}::int) as ok),
      pick as (
        select p.reward_id, p.shard, n.quantity
        from jsonb_to_recordset(${stock}::jsonb) as n("rewardId" uuid, quantity integer)
        cross join lateral (
          select s.reward_id, s.shard from reward_stock s
          where s.reward_id = n."rewardId" and s.remaining >= n.quantity and (select ok from fresh)
          order by (s.shard + ${Math.floor(Math.random() * SHARDS)}::int) % ${SHARDS}::int
          limit 1 ${lock}
        ) p
      ),
      reserved as (
        update reward_stock s set remaining = s.remaining - p.quantity
        from pick p
        where s.reward_id = p.reward_id and s.shard = p.shard and s.remaining >= p.quantity
          and (select count(*) from pick) = ${w.stock.length}::int
        returning s.reward_id
      ),
      gate as (
        select 1 from fresh where ok and (select count(*) from reserved) = ${w.stock.length}::int ${noActiveClaim}
      ),
      idem as (
        insert into idempotency_keys (user_id, key, event_id, status, body)
        select ${claim.userId}::uuid, ${w.idempotencyKey ?? null}::text, ${claim.eventId}::uuid, 201,
               ${JSON.stringify({ claim })}::jsonb
        from gate where ${keyed}
        returning 1
      ),
      claim as (
        insert into claims (${CLAIM_COLUMNS})
        select ${claim.id}::uuid, ${claim.userId}::uuid, ${claim.eventId}::uuid, ${claim.periodKey}, ${claim.status},
               ${claim.reason}, ${JSON.stringify(claim.rewards)}::jsonb, ${claim.createdAt}::timestamptz,
               ${claim.decidedAt}::timestamptz, ${claim.decidedBy}
        from gate where ${!keyed} or exists (select 1 from idem)
        returning *
      ),
      granted as (${insertGrantsOf(sql`claim`)}),
      messages as (
        ${subscriberMessages(messageRow(w.message), sql`granted g`, sql`exists (select 1 from claim)`)}
        returning 1
      )
      select (select ok from fresh) as fresh, (select count(*) from claim)::int as written,
             (select count(*) from messages)::int as messages`,
    );
    const [row] = rowsOf<{ fresh: boolean; written: number; messages: number }>(result);
    if (!row!.fresh) return { written: false, why: 'stale' };
    if (row!.written === 1) return { written: true, messages: row!.messages };
    return { written: false, why: w.stock.length > 0 ? 'short' : 'active' };
  }

  /**
   * Several decided claims in one statement committing on its own, for claims that are not rejections
   * and reserve at most one limited reward (see ClaimWriter). Per event and version, `claim_guard` as
   * in `write`. A claim on a fresh definition is left out when its player already holds the period's
   * claim or its Idempotency-Key is used. The claims on one limited reward share a few of its counters:
   * up to COUNTERS_PER_BATCH counters with the units are locked (skipping those others hold), the
   * claims are dealt to them in turn, and each counter gives its claims, in order, as many units as it
   * holds; a claim it cannot cover is left out. Each counter is reserved by one update, under its lock,
   * of at most the units it holds. Then, for
   * each claim still in, its key, the claim, its grants and its webhook messages. Rows are written in
   * (user, event) order, so two batches wait on each other's rows in one order. A key or a second
   * pending/approved claim for a period committed meanwhile, or two in the batch, fail the whole
   * statement on a unique index: nothing is written then. Returns, in the order given, each claim's
   * outcome: written (with its messages), stale, or `alone` (left out; written with `write`, it hears why).
   */
  async writeMany(db: Db, ws: readonly ClaimWrite[]): Promise<BatchOutcome[]> {
    const items = ws.map(({ claim, eventVersion, idempotencyKey, message, stock }, i) => ({
      i,
      reward_id: stock[0]?.rewardId ?? null,
      quantity: stock[0]?.quantity ?? null,
      id: claim.id,
      user_id: claim.userId,
      event_id: claim.eventId,
      version: eventVersion,
      period_key: claim.periodKey,
      status: claim.status,
      reason: claim.reason,
      rewards: claim.rewards,
      created_at: claim.createdAt,
      decided_at: claim.decidedAt,
      decided_by: claim.decidedBy,
      key: idempotencyKey ?? null,
      message_id: message.messageId,
      type: message.type,
      ts: message.timestamp,
      claim,
    }));
    const result = await executePrepared(
      db,
      sql`
      with b as materialized (
        select * from json_to_recordset(${JSON.stringify(items)}::json) as b(
          i int, id uuid, user_id uuid, event_id uuid, version int, period_key text, status text, reason text,
          rewards jsonb, created_at timestamptz, decided_at timestamptz, decided_by text, key text,
          message_id uuid, type text, ts text, claim json, reward_id uuid, quantity integer)
      ),
      fresh as materialized (
        select v.event_id, v.version, claim_guard(v.event_id, v.version) as ok
        from (select distinct event_id, version from b order by event_id, version) v
      ),
      ok as materialized (select b.* from b join fresh f using (event_id, version) where f.ok),
      free as materialized (
        -- "offset 0" keeps each check a lookup of that claim's own row (a subplan on the claim's
        -- values): as an anti-join, a plan cached while the claims table was small reads every
        -- pending and approved claim once per claim of the batch.
        select * from ok
        where not exists (
            select 1 from claims a where a.user_id = ok.user_id and a.event_id = ok.event_id
              and a.period_key = ok.period_key and a.status in ('PENDING', 'APPROVED') offset 0)
          and (key is null or not exists (
            select 1 from idempotency_keys k where k.user_id = ok.user_id and k.key = ok.key))
      ),
      need as (
        select i, reward_id, quantity, row_number() over (partition by reward_id order by i) as j
        from free where reward_id is not null
      ),
      held as materialized (
        select l.reward_id, l.shard, l.remaining,
               row_number() over (partition by l.reward_id order by l.shard) as k,
               count(*) over (partition by l.reward_id) as m
        from (select reward_id, count(*)::int as n, max(quantity) as quantity from need group by reward_id) w
        cross join lateral (
          select s.reward_id, s.shard, s.remaining from reward_stock s
          where s.reward_id = w.reward_id and s.remaining >= w.quantity
          order by (s.shard + ${Math.floor(Math.random() * SHARDS)}::int) % ${SHARDS}::int
          limit least(w.n, ${COUNTERS_PER_BATCH}::int) for update skip locked
        ) l
      ),
      assigned as (
        select n.i, n.quantity, h.reward_id, h.shard, h.remaining,
               sum(n.quantity) over (partition by h.reward_id, h.shard order by n.j) as units
        from need n join held h on h.reward_id = n.reward_id and h.k = (n.j - 1) % h.m + 1
      ),
      taken as materialized (select * from assigned where units <= remaining),
      reserved as (
        update reward_stock s set remaining = s.remaining - t.units
        from (select reward_id, shard, sum(quantity)::int as units from taken group by reward_id, shard) t
        where s.reward_id = t.reward_id and s.shard = t.shard
        returning s.reward_id, s.shard
      ),
      go as materialized (
        select * from free
        where reward_id is null
           or i in (select t.i from taken t join reserved r on r.reward_id = t.reward_id and r.shard = t.shard)
      ),
      idem as (
        insert into idempotency_keys (user_id, key, event_id, status, body)
        select user_id, key, event_id, 201, json_build_object('claim', claim)::jsonb
        from go where key is not null
        order by user_id, key
        returning 1
      ),
      written as (
        insert into claims (${CLAIM_COLUMNS})
        select ${CLAIM_COLUMNS}
        from go
        order by user_id, event_id
        returning *
      ),
      granted as (${insertGrantsOf(sql`written`)}),
      messages as (
        ${subscriberMessages(
          sql`(select f.message_id, f.type, f.ts, f.claim, f.id as claim_id from go f join written c on c.id = f.id) m`,
          sql`granted g`,
        )}
        returning message_id
      )
      select (select coalesce(json_agg(i), '[]') from ok) as fresh,
             (select coalesce(json_agg(id), '[]') from written) as written,
             (select coalesce(json_object_agg(message_id, n), '{}')
                from (select message_id, count(*)::int as n from messages group by message_id) t) as messages`,
    );
    const [row] = rowsOf<{ fresh: number[]; written: string[]; messages: Record<string, number> }>(result);
    const fresh = new Set(row!.fresh);
    const written = new Set(row!.written);
    return ws.map((w, i): BatchOutcome => {
      if (!fresh.has(i)) return { written: false, why: 'stale' };
      if (!written.has(w.claim.id)) return { written: false, why: 'alone' };
      return { written: true, messages: row!.messages[w.message.messageId] ?? 0 };
    });
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

  /** An operator's approval, stamped with the database's clock, and the claim's grants with it. */
  async approve(tx: Db, id: string, decidedBy: string): Promise<ClaimRow> {
    const decided = tx
      .$with('decided')
      .as(
        tx
          .update(claims)
          .set({ status: 'APPROVED', reason: null, note: null, decidedBy, decidedAt: sql`now()` })
          .where(eq(claims.id, id))
          .returning(),
      );
    const granted = tx.$with('granted', {}).as(insertGrantsOf(sql`decided`));
    const [row] = await tx.with(decided, granted).select().from(decided);
    return row!;
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

  async grantsOf(tx: Db, userId: string, limit: number, cursor?: string) {
    const rows = await tx
      .select()
      .from(grants)
      .where(and(eq(grants.userId, userId), afterCursor(grants.grantedAt, grants.id, cursor)))
      .orderBy(desc(grants.grantedAt), desc(grants.id))
      .limit(limit + 1);
    return toPage(rows, limit, (r) => ({ at: r.grantedAt, id: r.id }), toGrant);
  }

  /** A refusal kept as a key's answer, unless the key already has one (then false). */
  async keepRefusal(
    db: Db,
    r: { userId: string; key: string; eventId: string; status: number; body: unknown },
  ): Promise<boolean> {
    const rows = await db
      .insert(idempotencyKeys)
      .values({ userId: r.userId, key: r.key, eventId: r.eventId, status: r.status, body: r.body })
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

  async pruneIdempotencyKeys(tx: Db, olderThanHours: number): Promise<void> {
    await tx
      .delete(idempotencyKeys)
      .where(lt(idempotencyKeys.createdAt, sql`now() - make_interval(hours => ${olderThanHours})`));
  }
}
