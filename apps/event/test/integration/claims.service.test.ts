import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type {
  Claim,
  ClaimReason,
  ClaimStatus,
  CreateEventBody,
  CreateRewardBody,
  Reward,
  UpdateEventBody,
} from '@rewards/contracts';
import { AppError, METRICS, type Metrics, type Principal } from '@rewards/infrastructure';
import { asDate, rowsOf } from '@rewards/infrastructure/persistence';
import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { ActivitiesService } from '../../src/activities/activities.service.js';
import { ClaimDecisionsService } from '../../src/claims/claim-decisions.service.js';
import { ClaimRepository } from '../../src/claims/claim.repository.js';
import { ClaimsService } from '../../src/claims/claims.service.js';
import { EventStatsService } from '../../src/events/event-stats.service.js';
import { EventsService } from '../../src/events/events.service.js';
import { WebhookOutbox } from '../../src/webhooks/webhook-outbox.service.js';
import { WebhookRepository } from '../../src/webhooks/webhook.repository.js';
import { contextOf, type EventApp, operator, player, refusal, startEventApp } from './event-app.js';

/**
 * The claim path through the services' public methods, on a real database, with two instances of the
 * event service (two application contexts, two pools) on it. Outcomes are read back through the
 * services (stock as the API reports it) and from the claims, grants and idempotency_keys tables.
 */

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

/** Every event here asks for this level; players are made eligible by one LEVEL_UP with it. */
const LEVEL = 10;

const POINTS: CreateRewardBody = { type: 'POINT', name: '100 points', quantity: 100 };
const limitedItem = (stock: number, quantity = 1, name = 'Limited sword'): CreateRewardBody => ({
  type: 'ITEM',
  name,
  itemCode: `ITEM-${name.toUpperCase().replace(/\W+/g, '-')}`,
  quantity,
  stock,
});

const snapshotOf = (r: Reward) => ({
  rewardId: r.id,
  type: r.type,
  name: r.name,
  itemCode: r.itemCode,
  quantity: r.quantity,
});
const byRewardId = <T extends { rewardId: string }>(xs: readonly T[]) =>
  [...xs].sort((x, y) => x.rewardId.localeCompare(y.rewardId));

const localDay = (instant: Date, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);

/** ISO-8601 week (`YYYY-Www`) of the local day of an instant. */
function isoWeek(instant: Date, timeZone: string): string {
  const day = localDay(instant, timeZone);
  const t = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10)));
  const thursday = new Date(t + (3 - ((new Date(t).getUTCDay() + 6) % 7)) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

interface Grant {
  user_id: string;
  claim_id: string;
  event_id: string;
  reward_id: string;
  type: string;
  name: string;
  item_code: string | null;
  quantity: number;
}

/** The grant rows an approved claim must have: one per reward of its own snapshot. */
const grantsFrom = (c: Claim): Grant[] =>
  c.rewards.map((r) => ({
    user_id: c.userId,
    claim_id: c.id,
    event_id: c.eventId,
    reward_id: r.rewardId,
    type: r.type,
    name: r.name,
    item_code: r.itemCode,
    quantity: r.quantity,
  }));
const sortGrants = (gs: Grant[]) =>
  [...gs].sort((x, y) => `${x.claim_id}/${x.reward_id}`.localeCompare(`${y.claim_id}/${y.reward_id}`));

describe(ClaimsService.name, () => {
  let t: TestDatabase;
  /** Two instances of the event service on one database. */
  let a: EventApp;
  let b: EventApp;
  const ops = operator();
  const admin: Principal = { kind: 'user', subject: randomUUID(), roles: ['ADMIN'] };

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    [a, b] = await Promise.all([startEventApp(t.url), startEventApp(t.url)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await t?.dispose();
  });

  const claimsOn = (app: EventApp) => app.get(ClaimsService);
  const eventsOn = (app: EventApp) => app.get(EventsService);
  const claim = (p: Principal, eventId: string, key?: string, app = a) => claimsOn(app).claim(p, eventId, key);

  /** An event created by an operator (ACTIVE, open since an hour ago for a day, AUTO) with its rewards. */
  async function newEvent(
    over: Partial<CreateEventBody> = {},
    rewards: CreateRewardBody[] = [POINTS],
    app = a,
  ): Promise<{ id: string; rewards: Reward[] }> {
    const events = eventsOn(app);
    const event = await events.create(contextOf(ops), {
      title: 'Service test',
      startsAt: at(-HOUR),
      endsAt: at(DAY),
      condition: { type: 'LEVEL_REACHED', level: LEVEL },
      status: 'ACTIVE',
      ...over,
    });
    const added: Reward[] = [];
    for (const r of rewards) added.push(await events.addReward(contextOf(ops), event.id, r));
    return { id: event.id, rewards: added };
  }

  const update = (eventId: string, body: UpdateEventBody, app = a) =>
    eventsOn(app).update(contextOf(ops), eventId, body);
  const addReward = (eventId: string, body: CreateRewardBody, app = a) =>
    eventsOn(app).addReward(contextOf(ops), eventId, body);

  /** Players whose highest LEVEL_UP is `level`, recorded through the activities service. */
  async function players(n: number, level = LEVEL): Promise<Principal[]> {
    const ps = Array.from({ length: n }, player);
    await levelUp(ps, level);
    return ps;
  }
  const levelUp = (ps: Principal[], level = LEVEL) =>
    a.get(ActivitiesService).ingest(
      contextOf(admin),
      ps.map((p) => ({
        id: `level-${level}-${p.subject}`,
        userId: p.subject,
        type: 'LEVEL_UP',
        occurredAt: at(-MINUTE),
        value: level,
      })),
    );
  const eligible = async () => (await players(1))[0]!;

  /** The exact claim: who, which event, its status and reason, and a snapshot of exactly these rewards. */
  function expectClaim(
    c: Claim,
    want: {
      p: Principal;
      eventId: string;
      status: ClaimStatus;
      reason?: ClaimReason | null;
      rewards: Reward[];
      periodKey?: string;
      note?: string | null;
      decidedBy?: string;
    },
  ) {
    const { rewards, ...rest } = c;
    const pending = want.status === 'PENDING';
    expect(rest).toEqual({
      id: expect.any(String),
      eventId: want.eventId,
      userId: want.p.subject,
      periodKey: want.periodKey ?? 'ONCE',
      status: want.status,
      reason: want.reason ?? null,
      note: want.note ?? null,
      createdAt: expect.any(String),
      decidedAt: pending ? null : expect.any(String),
      decidedBy: pending ? null : (want.decidedBy ?? 'system'),
    });
    expect(byRewardId(rewards)).toEqual(byRewardId(want.rewards.map(snapshotOf)));
  }

  // ---- the database's state ----

  const query = async <T>(q: SQL) => rowsOf<T>(await t.database.db.execute(q));
  const claimRows = (eventId: string) =>
    query<{ id: string; user_id: string; status: string; reason: string | null }>(
      sql`select id, user_id, status, reason from claims where event_id = ${eventId} order by created_at, id`,
    );
  const grantRows = async (eventId: string) =>
    sortGrants(
      await query<Grant>(sql`
        select user_id, claim_id, event_id, reward_id, type, name, item_code, quantity
        from grants where event_id = ${eventId}`),
    );
  const keyRows = (userId: string) =>
    query<{ key: string; event_id: string; status: number | null; body: unknown }>(
      sql`select key, event_id, status, body from idempotency_keys where user_id = ${userId} order by key`,
    );
  /** Every attempt recorded on an event, as (player, status, reason), in any order. */
  const expectOutcomes = async (eventId: string, want: [Principal, ClaimStatus, ClaimReason | null][]) =>
    expect((await claimRows(eventId)).map((r) => `${r.user_id} ${r.status} ${r.reason}`).sort()).toEqual(
      want.map(([p, status, reason]) => `${p.subject} ${status} ${reason}`).sort(),
    );
  const expectGrants = async (eventId: string, approved: Claim[]) =>
    expect(await grantRows(eventId)).toEqual(sortGrants(approved.flatMap(grantsFrom)));

  /** Each reward's remaining units as the API reports them (null: unlimited), read on instance `app`. */
  async function remaining(eventId: string, app = a): Promise<Record<string, number | null>> {
    const event = await eventsOn(app).get(ops, eventId);
    return Object.fromEntries(event.rewards!.map((r) => [r.id, r.remaining]));
  }

  // ---- outcomes ----

  describe('approval', () => {
    it('approves a claim on an AUTO event and writes its grants from the claim’s reward snapshot', async () => {
      const e = await newEvent({}, [POINTS, limitedItem(5)]);
      const [points, item] = e.rewards;
      const p = await eligible();

      const c = await claim(p, e.id);

      expectClaim(c, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(await claimRows(e.id)).toEqual([{ id: c.id, user_id: p.subject, status: 'APPROVED', reason: null }]);
      await expectGrants(e.id, [c]);
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 4 });
      // The player's views of it.
      expect(await claimsOn(a).get(p, c.id)).toEqual(c);
      expect(await claimsOn(b).get(ops, c.id)).toEqual(c);
      expect(await claimsOn(a).list(p, { eventId: e.id, limit: 20 })).toEqual({ items: [c], nextCursor: null });
      const mine = await claimsOn(a).grants(p, 20);
      expect(mine.items.map((g) => ({ claimId: g.claimId, rewardId: g.rewardId, quantity: g.quantity }))).toEqual(
        expect.arrayContaining([
          { claimId: c.id, rewardId: points!.id, quantity: 100 },
          { claimId: c.id, rewardId: item!.id, quantity: 1 },
        ]),
      );
      expect(mine.items).toHaveLength(2);
      // Nobody else sees it.
      const other = player();
      expect(await refusal(claimsOn(a).get(other, c.id))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await claimsOn(a).list(other, { eventId: e.id, limit: 20 })).toEqual({ items: [], nextCursor: null });
    });

    it('approves a claim on an event without rewards, granting nothing', async () => {
      const e = await newEvent({}, []);
      const p = await eligible();
      const c = await claim(p, e.id);
      expectClaim(c, { p, eventId: e.id, status: 'APPROVED', rewards: [] });
      expect(await grantRows(e.id)).toEqual([]);
    });

    it('keeps a MANUAL claim pending with no grants; approving writes them from the snapshot, exactly once', async () => {
      const e = await newEvent({ approval: 'MANUAL' }, [POINTS, limitedItem(3)]);
      const [points, item] = e.rewards;
      const p = await eligible();

      const pending = await claim(p, e.id);
      expectClaim(pending, { p, eventId: e.id, status: 'PENDING', rewards: e.rewards });
      expect(await grantRows(e.id)).toEqual([]);
      // A pending claim holds its limited units.
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 2 });

      // A reward added later is not part of this claim: its grants come from its own snapshot.
      const later = await addReward(e.id, { type: 'COUPON', name: 'Late coupon', itemCode: 'LATE', quantity: 1 });
      const approved = await claimsOn(b).approve(contextOf(ops), pending.id);
      expectClaim(approved, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards, decidedBy: ops.subject });
      expect(approved).toMatchObject({ id: pending.id, createdAt: pending.createdAt });
      await expectGrants(e.id, [approved]);
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 2, [later.id]: null });

      // Decided once: a second approval or a rejection is refused and writes nothing.
      expect(await refusal(claimsOn(a).approve(contextOf(ops), pending.id))).toEqual({
        code: 'INVALID_STATE',
        status: 409,
      });
      expect(await refusal(claimsOn(a).reject(contextOf(ops), pending.id, 'too late'))).toEqual({
        code: 'INVALID_STATE',
        status: 409,
      });
      await expectGrants(e.id, [approved]);
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 2, [later.id]: null });
      expect(await claimsOn(a).get(p, pending.id)).toEqual(approved);
    });

    it('rejecting a pending claim records REJECTED_BY_OPERATOR with the note and returns its limited units', async () => {
      const e = await newEvent({ approval: 'MANUAL' }, [POINTS, limitedItem(1)]);
      const [points, item] = e.rewards;
      const [p1, p2, p3] = await players(3);

      const pending = await claim(p1!, e.id);
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 0 });
      // The pending claim holds the only unit.
      expectClaim(await claim(p2!, e.id), {
        p: p2!,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'OUT_OF_STOCK',
        rewards: e.rewards,
      });

      const rejected = await claimsOn(a).reject(contextOf(ops), pending.id, 'Duplicate account');
      expectClaim(rejected, {
        p: p1!,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'REJECTED_BY_OPERATOR',
        note: 'Duplicate account',
        rewards: e.rewards,
        decidedBy: ops.subject,
      });
      expect(rejected.id).toBe(pending.id);
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 1 });
      expect(await grantRows(e.id)).toEqual([]);
      expect(await refusal(claimsOn(a).reject(contextOf(ops), pending.id, 'again'))).toEqual({
        code: 'INVALID_STATE',
        status: 409,
      });
      expect(await refusal(claimsOn(a).approve(contextOf(ops), pending.id))).toEqual({
        code: 'INVALID_STATE',
        status: 409,
      });
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 1 });

      // A rejected claim does not hold the period: the same player may claim again, taking the unit back.
      const again = await claim(p1!, e.id);
      expectClaim(again, { p: p1!, eventId: e.id, status: 'PENDING', rewards: e.rewards });
      expect(again.id).not.toBe(pending.id);
      expectClaim(await claim(p3!, e.id), {
        p: p3!,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'OUT_OF_STOCK',
        rewards: e.rewards,
      });
      expect(await remaining(e.id)).toEqual({ [points!.id]: null, [item!.id]: 0 });
      await expectOutcomes(e.id, [
        [p1!, 'REJECTED', 'REJECTED_BY_OPERATOR'],
        [p2!, 'REJECTED', 'OUT_OF_STOCK'],
        [p1!, 'PENDING', null],
        [p3!, 'REJECTED', 'OUT_OF_STOCK'],
      ]);
    });

    it('refuses a decision on one’s own claim (FORBIDDEN) and on an unknown claim (NOT_FOUND)', async () => {
      const e = await newEvent({ approval: 'MANUAL' });
      const self = operator();
      await levelUp([self]);
      const own = await claim(self, e.id);
      expect(own.status).toBe('PENDING');
      expect(await refusal(claimsOn(a).approve(contextOf(self), own.id))).toEqual({ code: 'FORBIDDEN', status: 403 });
      expect(await refusal(claimsOn(a).reject(contextOf(self), own.id, 'mine'))).toEqual({
        code: 'FORBIDDEN',
        status: 403,
      });
      expect(await refusal(claimsOn(a).approve(contextOf(ops), randomUUID()))).toEqual({
        code: 'NOT_FOUND',
        status: 404,
      });
      expect(await claimsOn(a).get(self, own.id)).toEqual(own);
      expect(await grantRows(e.id)).toEqual([]);
    });

    it('bulk decisions answer each id as the single routes would, in order', async () => {
      const e = await newEvent({ approval: 'MANUAL' }, [POINTS, limitedItem(5)]);
      const item = e.rewards[1]!;
      const [p1, p2, p3] = await players(3);
      const [c1, c2, c3] = [await claim(p1!, e.id), await claim(p2!, e.id), await claim(p3!, e.id)];
      expect(await remaining(e.id)).toMatchObject({ [item.id]: 2 });
      const decisions = b.get(ClaimDecisionsService);
      const unknown = randomUUID();

      const approved = await decisions.decide(contextOf(ops), { decision: 'APPROVE', ids: [c1!.id, unknown, c2!.id] });
      expect(approved.results).toEqual([
        {
          id: c1!.id,
          status: 200,
          claim: { ...c1, status: 'APPROVED', decidedAt: expect.any(String), decidedBy: ops.subject },
        },
        { id: unknown, status: 404, error: { code: 'NOT_FOUND', message: expect.any(String) } },
        {
          id: c2!.id,
          status: 200,
          claim: { ...c2, status: 'APPROVED', decidedAt: expect.any(String), decidedBy: ops.subject },
        },
      ]);
      const rejected = await decisions.decide(contextOf(ops), {
        decision: 'REJECT',
        ids: [c1!.id, c3!.id],
        reason: 'Suspected bot',
      });
      expect(rejected.results).toEqual([
        { id: c1!.id, status: 409, error: { code: 'INVALID_STATE', message: expect.any(String) } },
        {
          id: c3!.id,
          status: 200,
          claim: {
            ...c3,
            status: 'REJECTED',
            reason: 'REJECTED_BY_OPERATOR',
            note: 'Suspected bot',
            decidedAt: expect.any(String),
            decidedBy: ops.subject,
          },
        },
      ]);
      await expectGrants(e.id, [approved.results[0]!.claim!, approved.results[2]!.claim!]);
      expect(await remaining(e.id)).toMatchObject({ [item.id]: 3 });
    });
  });

  // ---- refusals, recorded as rejected claims ----

  describe('refusals', () => {
    const cases: [string, Partial<CreateEventBody>, UpdateEventBody | null][] = [
      ['before the window opens', { startsAt: at(HOUR), endsAt: at(DAY) }, null],
      ['after the window closed', { startsAt: at(-2 * DAY), endsAt: at(-DAY) }, null],
      ['while paused', {}, { status: 'PAUSED' }],
      ['once ended', {}, { status: 'ENDED' }],
    ];
    it.each(cases)('EVENT_NOT_ACTIVE %s, for eligible and ineligible players alike', async (_, create, change) => {
      const e = await newEvent(create, [POINTS, limitedItem(2)]);
      if (change) await update(e.id, change);
      const p = await eligible();
      const newcomer = player();

      const c = await claim(p, e.id);
      expectClaim(c, { p, eventId: e.id, status: 'REJECTED', reason: 'EVENT_NOT_ACTIVE', rewards: e.rewards });
      // The window and status are checked before the condition.
      expectClaim(await claim(newcomer, e.id), {
        p: newcomer,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'EVENT_NOT_ACTIVE',
        rewards: e.rewards,
      });
      // Every attempt is recorded; a refused one holds nothing.
      expect(await claim(p, e.id)).toMatchObject({ status: 'REJECTED', reason: 'EVENT_NOT_ACTIVE' });
      await expectOutcomes(e.id, [
        [p, 'REJECTED', 'EVENT_NOT_ACTIVE'],
        [newcomer, 'REJECTED', 'EVENT_NOT_ACTIVE'],
        [p, 'REJECTED', 'EVENT_NOT_ACTIVE'],
      ]);
      expect(await grantRows(e.id)).toEqual([]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: null, [e.rewards[1]!.id]: 2 });
    });

    it('CONDITION_NOT_MET below the level or with no activity; the player is approved once they reach it', async () => {
      const e = await newEvent({}, [limitedItem(3)]);
      const [low] = await players(1, LEVEL - 1);
      const nobody = player();

      const refused = await claim(low!, e.id);
      expectClaim(refused, {
        p: low!,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'CONDITION_NOT_MET',
        rewards: e.rewards,
      });
      expectClaim(await claim(nobody, e.id), {
        p: nobody,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'CONDITION_NOT_MET',
        rewards: e.rewards,
      });
      expect(await grantRows(e.id)).toEqual([]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 3 });

      await levelUp([low!], LEVEL);
      const approved = await claim(low!, e.id);
      expectClaim(approved, { p: low!, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      await expectGrants(e.id, [approved]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 2 });
      await expectOutcomes(e.id, [
        [low!, 'REJECTED', 'CONDITION_NOT_MET'],
        [nobody, 'REJECTED', 'CONDITION_NOT_MET'],
        [low!, 'APPROVED', null],
      ]);
    });

    it('a draft does not exist for a player: NOT_FOUND, nothing recorded, the draft stays unlocked', async () => {
      const e = await newEvent({ status: 'DRAFT' }, [limitedItem(2)]);
      const p = await eligible();

      expect(await refusal(claim(p, e.id))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await refusal(claim(p, e.id, 'draft-key'))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await refusal(eventsOn(a).get(p, e.id))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await claimRows(e.id)).toEqual([]);
      expect(await keyRows(p.subject)).toEqual([]);
      const draft = await eventsOn(a).get(ops, e.id);
      expect(draft).toMatchObject({ status: 'DRAFT', locked: false });
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 2 });

      // Once active, the same instance lets the player claim it (with the key the draft did not keep).
      await update(e.id, { status: 'ACTIVE' });
      const c = await claim(p, e.id, 'draft-key');
      expectClaim(c, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(await keyRows(p.subject)).toEqual([{ key: 'draft-key', event_id: e.id, status: 201, body: { claim: c } }]);
    });

    it('an unknown event is NOT_FOUND and records nothing, with or without an Idempotency-Key', async () => {
      const p = await eligible();
      const id = randomUUID();
      expect(await refusal(claim(p, id))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await refusal(claim(p, id, 'unknown-key'))).toEqual({ code: 'NOT_FOUND', status: 404 });
      expect(await claimRows(id)).toEqual([]);
      expect(await query(sql`select 1 from claims where user_id = ${p.subject}`)).toEqual([]);
      expect(await keyRows(p.subject)).toEqual([]);
    });
  });

  // ---- limited stock ----

  describe('stock', () => {
    it('OUT_OF_STOCK once a limited reward cannot cover a claim’s quantity; refused claims take no units', async () => {
      const e = await newEvent({}, [limitedItem(5, 2)]);
      const item = e.rewards[0]!;
      const [p1, p2, p3, p4] = await players(4);

      const c1 = await claim(p1!, e.id);
      const c2 = await claim(p2!, e.id, 'k2');
      expect([c1.status, c2.status]).toEqual(['APPROVED', 'APPROVED']);
      expect(await remaining(e.id)).toEqual({ [item.id]: 1 });
      // One unit left, two needed.
      const out = await claim(p3!, e.id);
      expectClaim(out, { p: p3!, eventId: e.id, status: 'REJECTED', reason: 'OUT_OF_STOCK', rewards: e.rewards });
      expectClaim(await claim(p4!, e.id, 'k4'), {
        p: p4!,
        eventId: e.id,
        status: 'REJECTED',
        reason: 'OUT_OF_STOCK',
        rewards: e.rewards,
      });
      expect(await remaining(e.id)).toEqual({ [item.id]: 1 });
      expect(await remaining(e.id, b)).toEqual({ [item.id]: 1 });
      await expectGrants(e.id, [c1, c2]);
      expect((await eventsOn(a).get(ops, e.id)).rewards).toEqual([expect.objectContaining({ stock: 5, remaining: 1 })]);
    });

    it('with several limited rewards, one running out takes none of the others’ units; unlimited ones go with them', async () => {
      // The one that runs out sits between two others, so a reservation before it and one after it are both undone.
      const e = await newEvent({}, [
        limitedItem(10, 1, 'First'),
        limitedItem(1, 1, 'Scarce'),
        limitedItem(10, 2, 'Third'),
        POINTS,
      ]);
      const [first, scarce, third, points] = e.rewards;
      const [p1, p2, p3] = await players(3);

      const c1 = await claim(p1!, e.id);
      expectClaim(c1, { p: p1!, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      const after = { [first!.id]: 9, [scarce!.id]: 0, [third!.id]: 8, [points!.id]: null };
      expect(await remaining(e.id)).toEqual(after);

      for (const p of [p2!, p3!]) {
        expectClaim(await claim(p, e.id), {
          p,
          eventId: e.id,
          status: 'REJECTED',
          reason: 'OUT_OF_STOCK',
          rewards: e.rewards,
        });
        expect(await remaining(e.id)).toEqual(after);
      }
      await expectGrants(e.id, [c1]);
      await expectOutcomes(e.id, [
        [p1!, 'APPROVED', null],
        [p2!, 'REJECTED', 'OUT_OF_STOCK'],
        [p3!, 'REJECTED', 'OUT_OF_STOCK'],
      ]);
      const stats = await a.get(EventStatsService).stats(e.id);
      expect(stats.rewards).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ rewardId: first!.id, stock: 10, remaining: 9, granted: 1 }),
          expect.objectContaining({ rewardId: scarce!.id, stock: 1, remaining: 0, granted: 1 }),
          expect.objectContaining({ rewardId: third!.id, stock: 10, remaining: 8, granted: 2 }),
          expect.objectContaining({ rewardId: points!.id, stock: null, remaining: null, granted: 100 }),
        ]),
      );
      expect(stats).toMatchObject({
        claims: { PENDING: 0, APPROVED: 1, REJECTED: 2 },
        reasons: { OUT_OF_STOCK: 2, CONDITION_NOT_MET: 0, EVENT_NOT_ACTIVE: 0, REJECTED_BY_OPERATOR: 0 },
        players: 3,
      });
    });
  });

  // ---- once per period ----

  describe('once per period', () => {
    it('a second claim in the period is ALREADY_CLAIMED (409) while the first is approved or pending', async () => {
      for (const approval of ['AUTO', 'MANUAL'] as const) {
        const e = await newEvent({ approval }, [POINTS, limitedItem(5)]);
        const p = await eligible();
        const first = await claim(p, e.id);
        expect(first.status).toBe(approval === 'AUTO' ? 'APPROVED' : 'PENDING');

        expect(await refusal(claim(p, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
        expect(await refusal(claim(p, e.id, undefined, b))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
        expect(await claimRows(e.id)).toEqual([
          { id: first.id, user_id: p.subject, status: first.status, reason: null },
        ]);
        await expectGrants(e.id, approval === 'AUTO' ? [first] : []);
        expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: null, [e.rewards[1]!.id]: 4 });
      }
    });

    it('a holder of the period’s claim hears ALREADY_CLAIMED, not the refusal a newcomer would get', async () => {
      const e = await newEvent({}, [limitedItem(1)]);
      const [holder, newcomer] = await players(2);
      const held = await claim(holder!, e.id);
      expect(held.status).toBe('APPROVED');
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 0 });

      // Out of stock now: the holder is told they already have it, the newcomer why they get nothing.
      expect(await refusal(claim(holder!, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await claim(newcomer!, e.id)).toMatchObject({ status: 'REJECTED', reason: 'OUT_OF_STOCK' });
      // Paused: the same.
      await update(e.id, { status: 'PAUSED' });
      expect(await refusal(claim(holder!, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await claim(newcomer!, e.id)).toMatchObject({ status: 'REJECTED', reason: 'EVENT_NOT_ACTIVE' });

      await expectOutcomes(e.id, [
        [holder!, 'APPROVED', null],
        [newcomer!, 'REJECTED', 'OUT_OF_STOCK'],
        [newcomer!, 'REJECTED', 'EVENT_NOT_ACTIVE'],
      ]);
      await expectGrants(e.id, [held]);
    });

    it('a pending holder hears ALREADY_CLAIMED too when the event is paused or its stock runs out', async () => {
      const e = await newEvent({ approval: 'MANUAL' }, [limitedItem(1)]);
      const holder = await eligible();
      const pending = await claim(holder, e.id);
      expect(pending.status).toBe('PENDING');
      expect(await refusal(claim(holder, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      await update(e.id, { status: 'PAUSED' });
      expect(await refusal(claim(holder, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await claimRows(e.id)).toEqual([
        { id: pending.id, user_id: holder.subject, status: 'PENDING', reason: null },
      ]);
    });

    it('DAILY and WEEKLY events key a claim by the local day or ISO week in the event’s time zone', async () => {
      const daily = await newEvent({ repeat: 'DAILY', timezone: 'America/New_York' });
      const weekly = await newEvent({ repeat: 'WEEKLY', timezone: 'Asia/Seoul' });
      const p = await eligible();

      const d = await claim(p, daily.id);
      expectClaim(d, {
        p,
        eventId: daily.id,
        status: 'APPROVED',
        rewards: daily.rewards,
        periodKey: localDay(new Date(d.createdAt), 'America/New_York'),
      });
      const w = await claim(p, weekly.id);
      expectClaim(w, {
        p,
        eventId: weekly.id,
        status: 'APPROVED',
        rewards: weekly.rewards,
        periodKey: isoWeek(new Date(w.createdAt), 'Asia/Seoul'),
      });
      expect(await refusal(claim(p, daily.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await refusal(claim(p, weekly.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
    });

    // The service's clock moved forward (Date only; timers stay real): the period follows it.
    it('a new day of a DAILY event, or a new week of a WEEKLY one, takes a new claim', async () => {
      const daily = await newEvent({ repeat: 'DAILY', timezone: 'UTC', endsAt: at(10 * DAY) }, [limitedItem(5)]);
      const weekly = await newEvent({ repeat: 'WEEKLY', timezone: 'UTC', endsAt: at(10 * DAY) }, [limitedItem(5)]);
      const p = await eligible();
      const today = await claim(p, daily.id);
      const thisWeek = await claim(p, weekly.id);
      const now = Date.now();
      try {
        vi.useFakeTimers({ toFake: ['Date'], now: now + DAY });
        const tomorrow = await claim(p, daily.id);
        expectClaim(tomorrow, {
          p,
          eventId: daily.id,
          status: 'APPROVED',
          rewards: daily.rewards,
          periodKey: localDay(new Date(now + DAY), 'UTC'),
        });
        expect(await refusal(claim(p, daily.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
        vi.setSystemTime(now + 7 * DAY);
        const nextWeek = await claim(p, weekly.id);
        expectClaim(nextWeek, {
          p,
          eventId: weekly.id,
          status: 'APPROVED',
          rewards: weekly.rewards,
          periodKey: isoWeek(new Date(now + 7 * DAY), 'UTC'),
        });
        expect(await refusal(claim(p, weekly.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
        expect(today.periodKey).not.toBe(tomorrow.periodKey);
        expect(thisWeek.periodKey).not.toBe(nextWeek.periodKey);
        await expectGrants(daily.id, [today, tomorrow]);
        await expectGrants(weekly.id, [thisWeek, nextWeek]);
      } finally {
        vi.useRealTimers();
      }
      expect(await remaining(daily.id)).toEqual({ [daily.rewards[0]!.id]: 3 });
      expect(await remaining(weekly.id)).toEqual({ [weekly.rewards[0]!.id]: 3 });
    });
  });

  // ---- Idempotency-Key ----

  describe('Idempotency-Key', () => {
    it('a replay returns the first response, on either instance, and writes nothing new', async () => {
      const e = await newEvent({}, [POINTS, limitedItem(5)]);
      const p = await eligible();
      const first = await claim(p, e.id, 'once');
      expect(first.status).toBe('APPROVED');

      expect(await claim(p, e.id, 'once')).toEqual(first);
      expect(await claim(p, e.id, 'once', b)).toEqual(first);
      expect(await claimRows(e.id)).toEqual([{ id: first.id, user_id: p.subject, status: 'APPROVED', reason: null }]);
      await expectGrants(e.id, [first]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: null, [e.rewards[1]!.id]: 4 });
      expect(await keyRows(p.subject)).toEqual([{ key: 'once', event_id: e.id, status: 201, body: { claim: first } }]);
      // Keys are the player's own: another player's same key is another request.
      const other = await eligible();
      const theirs = await claim(other, e.id, 'once');
      expectClaim(theirs, { p: other, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(theirs.id).not.toBe(first.id);
    });

    it.each(['AUTO', 'MANUAL'] as const)(
      'a replay returns the first response after the stock ran out (%s)',
      async (approval) => {
        const e = await newEvent({ approval }, [limitedItem(1)]);
        const [p, newcomer] = await players(2);
        const first = await claim(p!, e.id, 'last-unit');
        expect(first.status).toBe(approval === 'AUTO' ? 'APPROVED' : 'PENDING');
        expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 0 });

        // Out of stock now (a newcomer is refused so), yet the key answers what it answered.
        expect(await claim(newcomer!, e.id)).toMatchObject({ status: 'REJECTED', reason: 'OUT_OF_STOCK' });
        expect(await claim(p!, e.id, 'last-unit')).toEqual(first);
        expect(await claim(p!, e.id, 'last-unit', b)).toEqual(first);

        await expectOutcomes(e.id, [
          [p!, first.status, null],
          [newcomer!, 'REJECTED', 'OUT_OF_STOCK'],
        ]);
        await expectGrants(e.id, approval === 'AUTO' ? [first] : []);
        expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 0 });
        expect(await keyRows(p!.subject)).toEqual([
          { key: 'last-unit', event_id: e.id, status: 201, body: { claim: first } },
        ]);
      },
    );

    const closings: [string, UpdateEventBody[]][] = [
      ['paused', [{ status: 'PAUSED' }]],
      ['moved out of its window', [{ startsAt: at(-2 * DAY), endsAt: at(-DAY) }]],
      ['paused, then ended', [{ status: 'PAUSED' }, { status: 'ENDED' }]],
    ];
    it.each(closings)('a replay returns the first response after the event was %s', async (_, changes) => {
      for (const approval of ['AUTO', 'MANUAL'] as const) {
        const e = await newEvent({ approval }, [POINTS, limitedItem(5)]);
        const p = await eligible();
        const first = await claim(p, e.id, 'before');
        for (const change of changes) await update(e.id, change);

        expect(await claim(p, e.id, 'before')).toEqual(first);
        expect(await claim(p, e.id, 'before', b)).toEqual(first);
        expect(await claimRows(e.id)).toEqual([
          { id: first.id, user_id: p.subject, status: first.status, reason: null },
        ]);
        await expectGrants(e.id, approval === 'AUTO' ? [first] : []);
        expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: null, [e.rewards[1]!.id]: 4 });
        expect(await keyRows(p.subject)).toEqual([
          { key: 'before', event_id: e.id, status: 201, body: { claim: first } },
        ]);
      }
    });

    it('an event id written in capitals is the same event: its claim, its replay, its period', async () => {
      const e = await newEvent();
      const p = await eligible();
      const upper = e.id.toUpperCase();
      const first = await claim(p, upper, 'caps');
      expectClaim(first, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(await claim(p, upper, 'caps', b)).toEqual(first);
      expect(await claim(p, e.id, 'caps')).toEqual(first);
      expect(await refusal(claim(p, e.id))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await refusal(claim(p, upper))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      await expectGrants(e.id, [first]);
    });

    it('a replay of a refusal stays that refusal after the player becomes eligible; a new key is a new attempt', async () => {
      const e = await newEvent();
      const p = player();
      const refused = await claim(p, e.id, 'early');
      expectClaim(refused, { p, eventId: e.id, status: 'REJECTED', reason: 'CONDITION_NOT_MET', rewards: e.rewards });
      await levelUp([p]);

      expect(await claim(p, e.id, 'early', b)).toEqual(refused);
      expect(await claimRows(e.id)).toEqual([
        { id: refused.id, user_id: p.subject, status: 'REJECTED', reason: 'CONDITION_NOT_MET' },
      ]);
      const approved = await claim(p, e.id, 'later');
      expectClaim(approved, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(await keyRows(p.subject)).toEqual([
        { key: 'early', event_id: e.id, status: 201, body: { claim: refused } },
        { key: 'later', event_id: e.id, status: 201, body: { claim: approved } },
      ]);
    });

    it('the same key for another event is IDEMPOTENCY_CONFLICT and claims nothing there', async () => {
      const e1 = await newEvent();
      const e2 = await newEvent();
      const p = await eligible();
      const first = await claim(p, e1.id, 'shared');

      expect(await refusal(claim(p, e2.id, 'shared'))).toEqual({ code: 'IDEMPOTENCY_CONFLICT', status: 409 });
      expect(await refusal(claim(p, e2.id, 'shared', b))).toEqual({ code: 'IDEMPOTENCY_CONFLICT', status: 409 });
      expect(await claimRows(e2.id)).toEqual([]);
      expect(await grantRows(e2.id)).toEqual([]);
      expect(await keyRows(p.subject)).toEqual([
        { key: 'shared', event_id: e1.id, status: 201, body: { claim: first } },
      ]);
      // The first event's replay is unaffected.
      expect(await claim(p, e1.id, 'shared')).toEqual(first);
    });

    it('a replay after an operator approved the pending claim still returns the first (pending) response', async () => {
      const e = await newEvent({ approval: 'MANUAL' }, [limitedItem(3)]);
      const p = await eligible();
      const pending = await claim(p, e.id, 'manual');
      expect(pending.status).toBe('PENDING');
      const approved = await claimsOn(b).approve(contextOf(ops), pending.id);

      expect(await claim(p, e.id, 'manual')).toEqual(pending);
      expect(await claim(p, e.id, 'manual', b)).toEqual(pending);
      expect(await claimsOn(a).get(p, pending.id)).toEqual(approved);
      await expectGrants(e.id, [approved]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 2 });
      expect(await keyRows(p.subject)).toEqual([
        { key: 'manual', event_id: e.id, status: 201, body: { claim: pending } },
      ]);
    });

    it('an attempt refused with ALREADY_CLAIMED keeps that refusal as its key’s answer, on both instances', async () => {
      const e = await newEvent({}, [limitedItem(1)]);
      const p = await eligible();
      const held = await claim(p, e.id);
      // Also out of stock now: still ALREADY_CLAIMED for the holder.
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 0 });

      const refused = {
        key: 'retry',
        event_id: e.id,
        status: 409,
        body: { error: { code: 'ALREADY_CLAIMED', message: expect.any(String) } },
      };
      expect(await refusal(claim(p, e.id, 'retry'))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await keyRows(p.subject)).toEqual([refused]);
      expect(await refusal(claim(p, e.id, 'retry', b))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await keyRows(p.subject)).toEqual([refused]);
      expect(await claimRows(e.id)).toEqual([{ id: held.id, user_id: p.subject, status: 'APPROVED', reason: null }]);
      await expectGrants(e.id, [held]);

      // The same with nothing limited, where the second claim runs into the first one itself.
      const open = await newEvent({}, [POINTS]);
      const first = await claim(p, open.id, 'open-1');
      expect(await refusal(claim(p, open.id, 'open-2'))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await refusal(claim(p, open.id, 'open-2', b))).toEqual({ code: 'ALREADY_CLAIMED', status: 409 });
      expect(await keyRows(p.subject)).toEqual(
        expect.arrayContaining([
          { key: 'open-1', event_id: open.id, status: 201, body: { claim: first } },
          { ...refused, key: 'open-2', event_id: open.id },
        ]),
      );
      // Replaying the key that got the claim still answers that claim.
      expect(await claim(p, open.id, 'open-1', b)).toEqual(first);
      await expectGrants(open.id, [first]);
    });

    it('concurrent requests with one key, on both instances, get one claim and the same response', async () => {
      const e = await newEvent({}, [limitedItem(5)]);
      const p = await eligible();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => claim(p, e.id, 'burst', i % 2 === 0 ? a : b)),
      );
      const [first] = answers;
      expectClaim(first!, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      for (const answer of answers) expect(answer).toEqual(first);
      expect(await claimRows(e.id)).toHaveLength(1);
      await expectGrants(e.id, [first!]);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: 4 });
      expect(await keyRows(p.subject)).toEqual([{ key: 'burst', event_id: e.id, status: 201, body: { claim: first } }]);
    });
  });

  // ---- an event's definition changes ----

  describe('a change to the event is seen by the next claim', () => {
    /**
     * Each step claims with a new player on `claimer` right after `changer` made the change; the first
     * claim warms whatever `claimer` keeps about the event.
     */
    const scenarios: [string, () => EventApp, () => EventApp][] = [
      ['on the same instance', () => a, () => a],
      ['on another instance (changed on B, claimed on A)', () => a, () => b],
    ];

    describe.each(scenarios)('%s', (_, claimer, changer) => {
      const claimOn = (p: Principal, eventId: string) => claim(p, eventId, undefined, claimer());
      const change = (eventId: string, body: UpdateEventBody) => update(eventId, body, changer());
      const expectRefused = async (p: Principal, e: { id: string; rewards: Reward[] }, reason: ClaimReason) =>
        expectClaim(await claimOn(p, e.id), { p, eventId: e.id, status: 'REJECTED', reason, rewards: e.rewards });
      const expectApproved = async (p: Principal, e: { id: string; rewards: Reward[] }) => {
        const c = await claimOn(p, e.id);
        expectClaim(c, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
        return c;
      };

      it('status: paused, resumed, ended', async () => {
        const e = await newEvent({}, [POINTS], changer());
        const ps = await players(4);
        await expectApproved(ps[0]!, e);
        await change(e.id, { status: 'PAUSED' });
        await expectRefused(ps[1]!, e, 'EVENT_NOT_ACTIVE');
        await change(e.id, { status: 'ACTIVE' });
        await expectApproved(ps[2]!, e);
        await change(e.id, { status: 'ENDED' });
        await expectRefused(ps[3]!, e, 'EVENT_NOT_ACTIVE');
      });

      it('window: moved into the future, into the past, and back', async () => {
        const e = await newEvent({}, [POINTS], changer());
        const ps = await players(4);
        await expectApproved(ps[0]!, e);
        await change(e.id, { startsAt: at(HOUR), endsAt: at(DAY) });
        await expectRefused(ps[1]!, e, 'EVENT_NOT_ACTIVE');
        await change(e.id, { startsAt: at(-2 * DAY), endsAt: at(-DAY) });
        await expectRefused(ps[2]!, e, 'EVENT_NOT_ACTIVE');
        await change(e.id, { startsAt: at(-HOUR), endsAt: at(DAY) });
        await expectApproved(ps[3]!, e);
      });

      it('approval: AUTO to MANUAL and back', async () => {
        const e = await newEvent({}, [POINTS], changer());
        const ps = await players(3);
        await expectApproved(ps[0]!, e);
        await change(e.id, { approval: 'MANUAL' });
        expectClaim(await claimOn(ps[1]!, e.id), { p: ps[1]!, eventId: e.id, status: 'PENDING', rewards: e.rewards });
        await change(e.id, { approval: 'AUTO' });
        await expectApproved(ps[2]!, e);
        expect(await grantRows(e.id)).toHaveLength(2);
      });

      it('rewards: an unlimited one added is granted, a limited one added is reserved until it runs out', async () => {
        const e = await newEvent({}, [POINTS], changer());
        const ps = await players(5);
        const c0 = await expectApproved(ps[0]!, e);
        const coupon = await addReward(
          e.id,
          { type: 'COUPON', name: 'Coupon', itemCode: 'C-1', quantity: 1 },
          changer(),
        );
        const withCoupon = { id: e.id, rewards: [...e.rewards, coupon] };
        const c1 = await expectApproved(ps[1]!, withCoupon);
        const scarce = await addReward(e.id, limitedItem(2, 1, 'Added later'), changer());
        const withScarce = { id: e.id, rewards: [...withCoupon.rewards, scarce] };
        const c2 = await expectApproved(ps[2]!, withScarce);
        const c3 = await expectApproved(ps[3]!, withScarce);
        await expectRefused(ps[4]!, withScarce, 'OUT_OF_STOCK');
        await expectGrants(e.id, [c0, c1, c2, c3]);
        expect(await remaining(e.id, claimer())).toEqual({
          [e.rewards[0]!.id]: null,
          [coupon.id]: null,
          [scarce.id]: 0,
        });
      });

      it('a draft the player could not see becomes claimable once activated', async () => {
        const e = await newEvent({ status: 'DRAFT' }, [POINTS], changer());
        const p = await eligible();
        expect(await refusal(claimOn(p, e.id))).toEqual({ code: 'NOT_FOUND', status: 404 });
        await change(e.id, { status: 'ACTIVE' });
        await expectApproved(p, e);
      });

      it('the condition is frozen once a claim exists: EVENT_LOCKED, and claims go on under the old one', async () => {
        const e = await newEvent({}, [POINTS], changer());
        const ps = await players(2);
        await expectApproved(ps[0]!, e);
        const locked = await refusal(change(e.id, { condition: { type: 'LEVEL_REACHED', level: LEVEL + 50 } }));
        expect(locked).toEqual({ code: 'EVENT_LOCKED', status: 409 });
        await expectApproved(ps[1]!, e);
        expect((await eventsOn(claimer()).get(ops, e.id)).condition).toEqual({ type: 'LEVEL_REACHED', level: LEVEL });
      });
    });
  });

  // ---- concurrency, two instances ----

  describe('concurrency across two instances', () => {
    const onBoth = <T>(n: number, call: (i: number, app: EventApp) => Promise<T>) =>
      Promise.allSettled(Array.from({ length: n }, (_, i) => call(i, i % 2 === 0 ? a : b)));

    const codesOf = (settled: PromiseSettledResult<unknown>[]) =>
      settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as AppError).code ?? String(s.reason)] : []));
    const claimsOf = (settled: PromiseSettledResult<Claim>[]) =>
      settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));

    it.each([
      ['an unlimited reward', POINTS, null],
      ['a limited reward with one unit', limitedItem(1), 0],
    ] as const)('50 parallel claims by one player on %s: one APPROVED, 49 ALREADY_CLAIMED', async (_, reward, left) => {
      const e = await newEvent({}, [reward]);
      const p = await eligible();
      const settled = await onBoth(50, (_, app) => claim(p, e.id, undefined, app));

      const won = claimsOf(settled);
      expect(won).toHaveLength(1);
      expectClaim(won[0]!, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(codesOf(settled)).toEqual(Array(49).fill('ALREADY_CLAIMED'));
      expect(await claimRows(e.id)).toEqual([{ id: won[0]!.id, user_id: p.subject, status: 'APPROVED', reason: null }]);
      await expectGrants(e.id, won);
      expect(await remaining(e.id)).toEqual({ [e.rewards[0]!.id]: left });
    });

    it('stock 20 raced by 100 players: 20 APPROVED, 80 OUT_OF_STOCK, 20 units granted, 0 remaining', async () => {
      const e = await newEvent({}, [limitedItem(20)]);
      const item = e.rewards[0]!;
      const ps = await players(100);
      const settled = await onBoth(100, (i, app) => claim(ps[i]!, e.id, undefined, app));

      expect(codesOf(settled)).toEqual([]);
      const all = claimsOf(settled);
      const approved = all.filter((c) => c.status === 'APPROVED');
      const refused = all.filter((c) => c.status === 'REJECTED');
      expect(approved).toHaveLength(20);
      expect(refused).toHaveLength(80);
      expect(refused.every((c) => c.reason === 'OUT_OF_STOCK')).toBe(true);
      for (const c of all) expect(byRewardId(c.rewards)).toEqual([snapshotOf(item)]);

      const rows = await claimRows(e.id);
      expect(rows).toHaveLength(100);
      expect(new Set(rows.map((r) => r.user_id)).size).toBe(100);
      expect(
        rows
          .filter((r) => r.status === 'APPROVED')
          .map((r) => r.id)
          .sort(),
      ).toEqual(approved.map((c) => c.id).sort());
      await expectGrants(e.id, approved);
      const [units] = await query<{ units: number }>(
        sql`select coalesce(sum(quantity), 0)::int as units from grants where reward_id = ${item.id}`,
      );
      expect(units!.units).toBe(20);
      expect(await remaining(e.id, a)).toEqual({ [item.id]: 0 });
      expect(await remaining(e.id, b)).toEqual({ [item.id]: 0 });
      const stats = await b.get(EventStatsService).stats(e.id);
      expect(stats.rewards).toEqual([
        expect.objectContaining({ rewardId: item.id, stock: 20, remaining: 0, granted: 20 }),
      ]);
      expect(stats).toMatchObject({
        claims: { APPROVED: 20, REJECTED: 80, PENDING: 0 },
        reasons: { OUT_OF_STOCK: 80 },
      });
    });

    it('stock 21 of a reward given 2 at a time, raced by 30 players: 10 APPROVED, 20 OUT_OF_STOCK, 1 unit left', async () => {
      const e = await newEvent({}, [limitedItem(21, 2)]);
      const item = e.rewards[0]!;
      const ps = await players(30);
      const settled = await onBoth(30, (i, app) => claim(ps[i]!, e.id, undefined, app));

      expect(codesOf(settled)).toEqual([]);
      const all = claimsOf(settled);
      const approved = all.filter((c) => c.status === 'APPROVED');
      expect(approved).toHaveLength(10);
      expect(all.filter((c) => c.status === 'REJECTED' && c.reason === 'OUT_OF_STOCK')).toHaveLength(20);
      await expectGrants(e.id, approved);
      expect(await remaining(e.id)).toEqual({ [item.id]: 1 });
    });

    it('two limited rewards raced by 40 players: the scarcer one decides, the other loses only the granted units', async () => {
      const e = await newEvent({}, [limitedItem(50, 1, 'Plenty'), limitedItem(10, 1, 'Few'), POINTS]);
      const [plenty, few, points] = e.rewards;
      const ps = await players(40);
      const settled = await onBoth(40, (i, app) => claim(ps[i]!, e.id, undefined, app));

      expect(codesOf(settled)).toEqual([]);
      const all = claimsOf(settled);
      const approved = all.filter((c) => c.status === 'APPROVED');
      expect(approved).toHaveLength(10);
      expect(all.filter((c) => c.status === 'REJECTED' && c.reason === 'OUT_OF_STOCK')).toHaveLength(30);
      await expectGrants(e.id, approved);
      expect(await remaining(e.id)).toEqual({ [plenty!.id]: 40, [few!.id]: 0, [points!.id]: null });
    });
  });

  // ---- claims that arrive together read their facts together ----

  describe('facts read together (FactsReader)', () => {
    /** Claims whose facts instance `app` has read so far, and the batches that read them. */
    async function reads(app: EventApp): Promise<{ claims: number; batches: number }> {
      const metric = await app.get<Metrics>(METRICS).registry.getSingleMetric('claim_facts_read_batch_size')!.get();
      const value = (name: string) => metric.values.find((v) => v.metricName === name)?.value ?? 0;
      return { claims: value('claim_facts_read_batch_size_sum'), batches: value('claim_facts_read_batch_size_count') };
    }

    it('40 players claiming on two events at once, half below the level: each decided on their own facts, in fewer reads', async () => {
      const [first, second] = [await newEvent({}, [POINTS]), await newEvent({}, [POINTS])];
      const high = await players(20);
      const low = await players(20, LEVEL - 1);
      const attempts = [...high, ...low].map((p, i) => [p, i % 2 === 0 ? first! : second!] as const);
      const before = await reads(a);
      const decided = await Promise.all(attempts.map(([p, e]) => claim(p, e.id)));
      const after = await reads(a);

      for (const [i, [p, e]] of attempts.entries()) {
        const eligible = high.includes(p);
        expectClaim(decided[i]!, {
          p,
          eventId: e.id,
          status: eligible ? 'APPROVED' : 'REJECTED',
          reason: eligible ? undefined : 'CONDITION_NOT_MET',
          rewards: e.rewards,
        });
      }
      expect(after.claims - before.claims).toBe(40);
      expect(after.batches - before.batches).toBeLessThan(40);
      for (const e of [first!, second!]) {
        await expectOutcomes(
          e.id,
          attempts
            .filter(([, on]) => on === e)
            .map(([p]): [Principal, ClaimStatus, ClaimReason | null] =>
              high.includes(p) ? [p, 'APPROVED', null] : [p, 'REJECTED', 'CONDITION_NOT_MET'],
            ),
        );
      }
    });
  });

  // ---- claims that arrive together are written together ----

  describe('claims written together (ClaimWriter)', () => {
    /** Claims written so far by instance `app`, and the statements that wrote them. */
    async function batches(app: EventApp): Promise<{ claims: number; statements: number }> {
      const metric = await app.get<Metrics>(METRICS).registry.getSingleMetric('claim_write_batch_size')!.get();
      const value = (name: string) => metric.values.find((v) => v.metricName === name)?.value ?? 0;
      return { claims: value('claim_write_batch_size_sum'), statements: value('claim_write_batch_size_count') };
    }
    const webhookMessages = (claimIds: string[]) =>
      query<{ message_id: string; webhook_id: string; type: string; payload: string }>(sql`
        select message_id, webhook_id, type, payload from webhook_messages
        where payload::json -> 'data' -> 'claim' ->> 'id' in (select jsonb_array_elements_text(${JSON.stringify(claimIds)}::jsonb))`);

    it('40 players claiming at once with keys and a webhook: each claim, key, grant and message, in fewer statements', async () => {
      const e = await newEvent({}, [POINTS]);
      const ps = await players(40);
      const hook = await a.get(WebhookRepository).insert(t.database.db, {
        id: randomUUID(),
        url: 'https://receiver.example/hook',
        events: ['claim.approved'],
        active: true,
        secret: 'whsec_c2VjcmV0',
        createdBy: 'tester',
      });
      const before = await batches(a);
      const won = await Promise.all(ps.map((p, i) => claim(p, e.id, `key-${i}`)));
      const after = await batches(a);
      await query(sql`update webhooks set active = false where id = ${hook.id}`);

      for (const [i, p] of ps.entries())
        expectClaim(won[i]!, { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(after.claims - before.claims).toBe(40);
      expect(after.statements - before.statements).toBeLessThan(40);
      await expectOutcomes(
        e.id,
        ps.map((p) => [p, 'APPROVED', null]),
      );
      await expectGrants(e.id, won);
      for (const [i, p] of ps.entries())
        expect(await keyRows(p.subject)).toEqual([
          { key: `key-${i}`, event_id: e.id, status: 201, body: { claim: won[i] } },
        ]);
      const messages = await webhookMessages(won.map((c) => c.id));
      expect(messages).toHaveLength(40);
      const grants = await query<{ id: string; claim_id: string; reward_id: string; granted_at: Date }>(
        sql`select id, claim_id, reward_id, granted_at from grants where event_id = ${e.id}`,
      );
      for (const c of won) {
        const m = messages.find((x) => JSON.parse(x.payload).data.claim.id === c.id)!;
        const g = grants.find((x) => x.claim_id === c.id)!;
        expect(m.webhook_id).toBe(hook.id);
        expect(m.type).toBe('claim.approved');
        expect(Object.keys(JSON.parse(m.payload))).toEqual(['type', 'timestamp', 'data']);
        expect(JSON.parse(m.payload)).toEqual({
          type: 'claim.approved',
          timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          data: {
            claim: c,
            grants: [
              {
                id: g.id,
                userId: c.userId,
                claimId: c.id,
                eventId: e.id,
                rewardId: e.rewards[0]!.id,
                type: 'POINT',
                name: POINTS.name,
                itemCode: null,
                quantity: POINTS.quantity,
                grantedAt: asDate(g.granted_at).toISOString(),
              },
            ],
          },
        });
      }
      // A replay of every key answers the first response and writes nothing new.
      expect(await Promise.all(ps.map((p, i) => claim(p, e.id, `key-${i}`)))).toEqual(won);
      expect(await claimRows(e.id)).toHaveLength(40);
      expect(await webhookMessages(won.map((c) => c.id))).toHaveLength(40);
    });

    it('a batch mixing newcomers, holders, replays, a pending claim and one player twice: each its own answer', async () => {
      const e = await newEvent({}, [POINTS]);
      const manual = await newEvent({ approval: 'MANUAL' }, [POINTS]);
      const [holder, replayer, twice, waiting, ...newcomers] = await players(24);
      const held = await claim(holder!, e.id);
      const first = await claim(replayer!, e.id, 'again');

      const settled = await Promise.allSettled([
        ...newcomers.map((p) => claim(p, e.id, `k-${p.subject}`)),
        claim(holder!, e.id, 'holder-key'),
        claim(replayer!, e.id, 'again'),
        claim(twice!, e.id),
        claim(twice!, e.id),
        claim(waiting!, manual.id, 'pending-key'),
      ]);

      const value = (i: number) => (settled[i] as PromiseFulfilledResult<Claim>).value;
      const code = (i: number) => ((settled[i] as PromiseRejectedResult).reason as AppError).code;
      for (const [i, p] of newcomers.entries())
        expectClaim(value(i), { p, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      const n = newcomers.length;
      expect(code(n)).toBe('ALREADY_CLAIMED');
      expect(value(n + 1)).toEqual(first);
      const pair = [settled[n + 2]!, settled[n + 3]!];
      expect(pair.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
      const won = pair.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))[0]!;
      expectClaim(won, { p: twice!, eventId: e.id, status: 'APPROVED', rewards: e.rewards });
      expect(pair.flatMap((s) => (s.status === 'rejected' ? [(s.reason as AppError).code] : []))).toEqual([
        'ALREADY_CLAIMED',
      ]);
      expectClaim(value(n + 4), { p: waiting!, eventId: manual.id, status: 'PENDING', rewards: manual.rewards });

      await expectOutcomes(e.id, [
        [holder!, 'APPROVED', null],
        [replayer!, 'APPROVED', null],
        [twice!, 'APPROVED', null],
        ...newcomers.map((p): [Principal, ClaimStatus, null] => [p, 'APPROVED', null]),
      ]);
      await expectGrants(e.id, [held, first, won, ...newcomers.map((_, i) => value(i))]);
      await expectGrants(manual.id, []);
      expect(await keyRows(holder!.subject)).toEqual([
        {
          key: 'holder-key',
          event_id: e.id,
          status: 409,
          body: { error: { code: 'ALREADY_CLAIMED', message: expect.any(String) } },
        },
      ]);
      expect(await keyRows(replayer!.subject)).toEqual([
        { key: 'again', event_id: e.id, status: 201, body: { claim: first } },
      ]);
      expect(await keyRows(waiting!.subject)).toEqual([
        { key: 'pending-key', event_id: manual.id, status: 201, body: { claim: value(n + 4) } },
      ]);
    });

    it('50 players at once on one instance for a stock of 20: 20 APPROVED, 30 OUT_OF_STOCK, in fewer statements', async () => {
      const e = await newEvent({}, [limitedItem(20)]);
      const item = e.rewards[0]!;
      const ps = await players(50);
      const before = await batches(a);
      const all = await Promise.all(ps.map((p) => claim(p, e.id)));
      const after = await batches(a);

      const approved = all.filter((c) => c.status === 'APPROVED');
      expect(approved).toHaveLength(20);
      expect(all.filter((c) => c.status === 'REJECTED' && c.reason === 'OUT_OF_STOCK')).toHaveLength(30);
      expect(after.statements - before.statements).toBeLessThan(after.claims - before.claims);
      await expectGrants(e.id, approved);
      expect(await remaining(e.id)).toEqual({ [item.id]: 0 });
    });

    /** Decided claims of these players on an event, as the service hands them to the repository. */
    function decidedWrites(e: { id: string; rewards: Reward[] }, version: number, ps: Principal[]) {
      const outbox = a.get(WebhookOutbox);
      return ps.map((p) => {
        const c: Claim = {
          id: randomUUID(),
          eventId: e.id,
          userId: p.subject,
          periodKey: 'ONCE',
          status: 'APPROVED',
          reason: null,
          note: null,
          rewards: e.rewards.map(snapshotOf),
          createdAt: new Date().toISOString(),
          decidedAt: new Date().toISOString(),
          decidedBy: 'system',
        };
        const stock = e.rewards.filter((r) => r.stock !== null).map((r) => ({ rewardId: r.id, quantity: r.quantity }));
        return { claim: c, eventVersion: version, stock, waitForStock: false, message: outbox.messageOf(c) };
      });
    }
    const versionOf = async (eventId: string) =>
      (await query<{ version: number }>(sql`select version from events where id = ${eventId}`))[0]!.version;

    it('one batch of 5 claims on a stock of 3 (three counters of one): 3 written, 2 left out, no counter used twice', async () => {
      const e = await newEvent({}, [limitedItem(3)]);
      const item = e.rewards[0]!;
      const counters = () =>
        query<{ shard: number; remaining: number }>(
          sql`select shard, remaining from reward_stock where reward_id = ${item.id} order by shard`,
        );
      expect(await counters()).toEqual([
        { shard: 0, remaining: 1 },
        { shard: 1, remaining: 1 },
        { shard: 2, remaining: 1 },
      ]);
      const writes = decidedWrites(e, await versionOf(e.id), Array.from({ length: 5 }, player));
      const outcomes = await a.get(ClaimRepository).writeMany(t.database.db, writes);

      expect(outcomes.filter((o) => o.written)).toHaveLength(3);
      expect(outcomes.filter((o) => !o.written)).toEqual(Array(2).fill({ written: false, why: 'alone' }));
      expect(await counters()).toEqual([
        { shard: 0, remaining: 0 },
        { shard: 1, remaining: 0 },
        { shard: 2, remaining: 0 },
      ]);
      const written = writes.filter((_, i) => outcomes[i]!.written).map((w) => w.claim);
      expect((await claimRows(e.id)).map((r) => r.id).sort()).toEqual(written.map((c) => c.id).sort());
      await expectGrants(e.id, written);
    });

    it('one batch of 20 claims on a stock of 100 (32 counters of 3 or 4) shares 8 counters and writes all 20', async () => {
      const e = await newEvent({}, [limitedItem(100)]);
      const item = e.rewards[0]!;
      const counters = () =>
        query<{ shard: number; remaining: number }>(
          sql`select shard, remaining from reward_stock where reward_id = ${item.id} order by shard`,
        );
      const before = await counters();
      expect(before).toHaveLength(32);
      const writes = decidedWrites(e, await versionOf(e.id), Array.from({ length: 20 }, player));
      const outcomes = await a.get(ClaimRepository).writeMany(t.database.db, writes);

      expect(outcomes).toEqual(Array(20).fill({ written: true, messages: 0 }));
      const after = await counters();
      const taken = after.map((c, i) => before[i]!.remaining - c.remaining).filter((units) => units > 0);
      expect(taken).toHaveLength(8);
      expect(taken.every((units) => units === 2 || units === 3)).toBe(true);
      expect(after.reduce((sum, c) => sum + c.remaining, 0)).toBe(80);
      expect(await remaining(e.id)).toEqual({ [item.id]: 80 });
      await expectGrants(
        e.id,
        writes.map((w) => w.claim),
      );
    });

    it('a batch decided on an event version that is no longer the event’s writes nothing and says stale', async () => {
      const e = await newEvent({}, [POINTS]);
      const ps = await players(3);
      const version = await versionOf(e.id);
      await update(e.id, { title: 'Renamed' });
      const writes = decidedWrites(e, version, ps);
      const repo = a.get(ClaimRepository);
      expect(await repo.writeMany(t.database.db, writes)).toEqual(Array(3).fill({ written: false, why: 'stale' }));
      expect(await claimRows(e.id)).toEqual([]);
      const fresh = writes.map((w) => ({ ...w, eventVersion: version! + 1 }));
      expect(await repo.writeMany(t.database.db, fresh)).toEqual(Array(3).fill({ written: true, messages: 0 }));
      expect((await claimRows(e.id)).map((r) => r.id).sort()).toEqual(writes.map((w) => w.claim.id).sort());
    });
  });
});
