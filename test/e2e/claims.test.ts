import { randomUUID } from 'node:crypto';
import type { Claim, Condition, Event, Grant, ProgressNode, Reward } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addDays,
  adminAccount,
  createAccount,
  createAccounts,
  createApiKey,
  createEvent,
  createReward,
  DAY_MS,
  errorBody,
  isoWeek,
  localDate,
  postActivities,
  SEOUL,
  seoulNoon,
  signIn,
  validationError,
  walk,
  type Account,
} from '../support/fixtures.js';
import { type ServiceDb, withServiceDb } from '../support/db.js';
import { startStack, type Stack } from '../support/stack.js';

const OUTBOX_WAIT = { timeout: 5000, interval: 100 };
const READY = { type: 'ACTIVITY_COUNT', activity: 'READY', count: 1 } as const;
const ALREADY_CLAIMED = errorBody('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');
const notPending = (status: string) => errorBody('INVALID_STATE', `The claim is ${status}, not PENDING`);
const STAFF_ONLY = errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, ADMIN');

describe('conditions, claims, approvals and grants', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  /** Players who have met READY; `take()` hands out one not used by another test. */
  let pool: Account[];
  let unready: Account[];
  let apiKey: string;
  const take = (n = 1) => {
    if (pool.length < n) throw new Error('player pool exhausted');
    return pool.splice(0, n);
  };

  const claim = (player: Account, eventId: string, headers?: Record<string, string>) =>
    stack.client.call('createClaim', { token: player.token, params: { id: eventId }, ...(headers ? { headers } : {}) });
  const remaining = async (eventId: string) =>
    (await stack.client.call('listRewards', { token: operator.token, params: { id: eventId } })).body.items.map(
      (r) => r.remaining,
    );
  const claimsOf = async (eventId: string, token = admin.token) => {
    const res = await stack.client.call('listClaims', { token, query: { eventId, limit: 100 } });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return res.body.items;
  };
  const grantsOf = async (player: Account) => {
    const res = await stack.client.call('myRewards', { token: player.token, query: { limit: 100 } });
    expect(res.status).toBe(200);
    return res.body.items;
  };
  const snapshot = (rewards: Reward[]) =>
    rewards.map((r) => ({ rewardId: r.id, type: r.type, name: r.name, itemCode: r.itemCode, quantity: r.quantity }));
  const grantsFor = (claim: Claim, rewards: Reward[]): Grant[] =>
    rewards.map((r) => ({
      id: expect.any(String),
      userId: claim.userId,
      claimId: claim.id,
      eventId: claim.eventId,
      rewardId: r.id,
      type: r.type,
      name: r.name,
      itemCode: r.itemCode,
      quantity: r.quantity,
      grantedAt: expect.any(String),
    }));
  const ids = (claims: Claim[]) => claims.map((x) => x.id);
  /** The event service's own tables, read directly. */
  const withEventDb = <T>(fn: (db: ServiceDb) => Promise<T>) => withServiceDb(stack, 'event', fn);
  const byReward = (grants: Grant[]) => [...grants].sort((a, b) => (a.rewardId < b.rewardId ? -1 : 1));

  beforeAll(async () => {
    stack = await startStack();
    admin = await adminAccount(stack);
    const [staff, players, others] = await Promise.all([
      Promise.all([
        createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
        createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
      ]),
      createAccounts(stack, admin.token, 22),
      createAccounts(stack, admin.token, 2, { label: 'unready' }),
    ]);
    [operator, auditor] = staff;
    pool = players;
    unready = others;
    apiKey = (await createApiKey(stack, admin.token)).key;
    await postActivities(
      stack,
      apiKey,
      pool.map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('conditions and progress on real activity', () => {
    /** LOGIN_DAYS 1 over a wide window: shows when a player's sign-in has reached the event service. */
    let probe: Event;
    let players: Record<
      'streak' | 'gap' | 'days' | 'zone' | 'edge' | 'inviter' | 'level' | 'combo' | 'real' | 'inactive' | 'daily',
      Account
    >;

    const progress = async (player: Account, eventId: string) => {
      const res = await stack.client.call('progress', { token: player.token, params: { id: eventId } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const login = (userId: string, occurredAt: string) => ({ userId, type: 'LOGIN', occurredAt });
    /** Today's sign-in (made when the account was created) has arrived through auth's outbox. */
    const signInArrived = (player: Account) =>
      vi.waitFor(
        async () =>
          expect((await progress(player, probe.id)).condition).toEqual({
            type: 'LOGIN_DAYS',
            required: 1,
            current: 1,
            met: true,
          }),
        OUTBOX_WAIT,
      );

    beforeAll(async () => {
      probe = await createEvent(
        stack,
        operator.token,
        { type: 'LOGIN_DAYS', days: 1 },
        { startsAt: new Date(Date.now() - 60 * DAY_MS).toISOString() },
      );
      const names = [
        'streak',
        'gap',
        'days',
        'zone',
        'edge',
        'inviter',
        'level',
        'combo',
        'real',
        'inactive',
        'daily',
      ] as const;
      const accounts = await createAccounts(stack, admin.token, names.length);
      players = Object.fromEntries(names.map((n, i) => [n, accounts[i]!])) as typeof players;
    });
    it('LOGIN_STREAK: three consecutive local days meet it, a gap does not; a rejected player may try again', async () => {
      const event = await createEvent(stack, operator.token, { type: 'LOGIN_STREAK', days: 3 });
      const reward = await createReward(stack, operator.token, event.id, {
        type: 'POINT',
        name: 'Streak points',
        quantity: 300,
      });
      const { streak, gap } = players;
      await postActivities(stack, apiKey, [
        login(streak.id, seoulNoon(-6)),
        login(streak.id, seoulNoon(-5)),
        login(streak.id, seoulNoon(-4)),
        login(gap.id, seoulNoon(-6)),
        login(gap.id, seoulNoon(-5)),
        login(gap.id, seoulNoon(-3)),
      ]);

      expect(await progress(streak, event.id)).toEqual({
        eventId: event.id,
        eligible: true,
        condition: { type: 'LOGIN_STREAK', required: 3, current: 3, met: true },
        claim: null,
      });
      expect(await progress(gap, event.id)).toEqual({
        eventId: event.id,
        eligible: false,
        condition: { type: 'LOGIN_STREAK', required: 3, current: 2, met: false },
        claim: null,
      });

      const won = await claim(streak, event.id);
      expect(won.status).toBe(201);
      expect(won.body).toEqual({
        claim: {
          id: expect.any(String),
          eventId: event.id,
          userId: streak.id,
          periodKey: 'ONCE',
          status: 'APPROVED',
          reason: null,
          note: null,
          rewards: snapshot([reward]),
          createdAt: expect.any(String),
          decidedAt: expect.any(String),
          decidedBy: 'system',
        },
      });
      const lost = await claim(gap, event.id);
      expect(lost.status).toBe(201);
      expect(lost.body.claim).toEqual({
        ...won.body.claim,
        id: expect.any(String),
        userId: gap.id,
        status: 'REJECTED',
        reason: 'CONDITION_NOT_MET',
        createdAt: expect.any(String),
        decidedAt: expect.any(String),
      });

      expect(await progress(streak, event.id)).toEqual({
        eventId: event.id,
        eligible: false,
        condition: { type: 'LOGIN_STREAK', required: 3, current: 3, met: true },
        claim: won.body.claim,
      });
      expect(await progress(gap, event.id)).toEqual({
        eventId: event.id,
        eligible: false,
        condition: { type: 'LOGIN_STREAK', required: 3, current: 2, met: false },
        claim: lost.body.claim,
      });

      // Filling the gap makes a run of four: the earlier rejection does not block a new claim.
      await postActivities(stack, apiKey, [login(gap.id, seoulNoon(-4))]);
      expect((await progress(gap, event.id)).condition).toEqual({
        type: 'LOGIN_STREAK',
        required: 3,
        current: 4,
        met: true,
      });
      const retry = await claim(gap, event.id);
      expect(retry.status).toBe(201);
      expect(retry.body.claim).toMatchObject({ status: 'APPROVED', reason: null, userId: gap.id });
      expect(retry.body.claim.id).not.toBe(lost.body.claim.id);
      const again = await claim(gap, event.id);
      expect(again.status).toBe(409);
      expect(again.body).toEqual(
        errorBody('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period'),
      );
    });

    it("LOGIN_DAYS counts distinct local days inside the window, today's sign-in included", async () => {
      const { days } = players;
      await signInArrived(days);
      const four = await createEvent(stack, operator.token, { type: 'LOGIN_DAYS', days: 4 });
      const five = await createEvent(stack, operator.token, { type: 'LOGIN_DAYS', days: 5 });
      await postActivities(stack, apiKey, [
        login(days.id, seoulNoon(-12)), // before both windows open
        login(days.id, seoulNoon(-9)),
        login(days.id, `${addDays(localDate(new Date(), SEOUL), -9)}T20:00:00+09:00`), // same day again
        login(days.id, seoulNoon(-5)),
        login(days.id, seoulNoon(-2)),
      ]);
      expect(await progress(days, four.id)).toEqual({
        eventId: four.id,
        eligible: true,
        condition: { type: 'LOGIN_DAYS', required: 4, current: 4, met: true },
        claim: null,
      });
      expect(await progress(days, five.id)).toEqual({
        eventId: five.id,
        eligible: false,
        condition: { type: 'LOGIN_DAYS', required: 5, current: 4, met: false },
        claim: null,
      });
      expect((await claim(days, four.id)).body.claim).toMatchObject({ status: 'APPROVED', reason: null });
      expect((await claim(days, five.id)).body.claim).toMatchObject({
        status: 'REJECTED',
        reason: 'CONDITION_NOT_MET',
      });
    });

    it("days are calendar days of the event's time zone", async () => {
      const { zone } = players;
      await signInArrived(zone);
      const condition: Condition = {
        type: 'ALL',
        of: [
          { type: 'LOGIN_DAYS', days: 3 },
          { type: 'LOGIN_STREAK', days: 2 },
        ],
      };
      const seoul = await createEvent(stack, operator.token, condition);
      const utc = await createEvent(stack, operator.token, condition, { timezone: 'UTC' });
      // 23:30 and 00:30 in Seoul: two days there, one day in UTC.
      const day = addDays(new Date().toISOString().slice(0, 10), -3);
      await postActivities(stack, apiKey, [login(zone.id, `${day}T14:30:00Z`), login(zone.id, `${day}T15:30:00Z`)]);
      expect((await progress(zone, seoul.id)).condition).toEqual({
        type: 'ALL',
        met: true,
        of: [
          { type: 'LOGIN_DAYS', required: 3, current: 3, met: true },
          { type: 'LOGIN_STREAK', required: 2, current: 2, met: true },
        ],
      });
      expect((await progress(zone, utc.id)).condition).toEqual({
        type: 'ALL',
        met: false,
        of: [
          { type: 'LOGIN_DAYS', required: 3, current: 2, met: false },
          { type: 'LOGIN_STREAK', required: 2, current: 1, met: false },
        ],
      });
    });

    it('ACTIVITY_COUNT / ACTIVITY_SUM count exactly what falls inside [startsAt, endsAt)', async () => {
      const { edge } = players;
      // A window that starts and ends off the 15-minute grid the counters use.
      const start = Math.floor((Date.now() - 5 * DAY_MS) / 900_000) * 900_000 + 7 * 60_000 + 30_000;
      const end = start + 2 * DAY_MS + 3 * 60_000;
      const event = await createEvent(
        stack,
        operator.token,
        {
          type: 'ALL',
          of: [
            { type: 'ACTIVITY_COUNT', activity: 'EDGE_PING', count: 4 },
            { type: 'ACTIVITY_SUM', activity: 'EDGE_PING', sum: 30.5 },
          ],
        },
        { startsAt: new Date(start).toISOString(), endsAt: new Date(end).toISOString() },
      );
      const ping = (at: number, value: number) => ({
        userId: edge.id,
        type: 'EDGE_PING',
        occurredAt: new Date(at).toISOString(),
        value,
      });
      await postActivities(stack, apiKey, [
        ping(start - 1, 1), // out
        ping(start, 2), // in: the first instant
        ping(start + 60_000, 4), // in: same partial bucket
        ping(start + 3_600_000, 8), // in: a whole bucket
        ping(end - 1, 16), // in: the last partial bucket
        ping(end, 32), // out: endsAt is exclusive
        ping(end + 3_600_000, 64), // out
        { userId: edge.id, type: 'OTHER_PING', occurredAt: new Date(start + 3_600_000).toISOString(), value: 128 },
      ]);
      expect(await progress(edge, event.id)).toEqual({
        eventId: event.id,
        eligible: false,
        condition: {
          type: 'ALL',
          met: false,
          of: [
            { type: 'ACTIVITY_COUNT', required: 4, current: 4, met: true },
            { type: 'ACTIVITY_SUM', required: 30.5, current: 30, met: false },
          ],
        },
        claim: null,
      });
      // The window has passed: the attempt is recorded as EVENT_NOT_ACTIVE even though the status is ACTIVE.
      const res = await claim(edge, event.id);
      expect(res.status).toBe(201);
      expect(res.body.claim).toMatchObject({ status: 'REJECTED', reason: 'EVENT_NOT_ACTIVE' });
    });

    it("INVITE_COUNT counts real registrations with the player's invite code", async () => {
      const { inviter } = players;
      const event = await createEvent(stack, operator.token, { type: 'INVITE_COUNT', count: 2 });
      expect((await progress(inviter, event.id)).condition).toEqual({
        type: 'INVITE_COUNT',
        required: 2,
        current: 0,
        met: false,
      });

      const invitees = await Promise.all(
        [1, 2].map((i) =>
          stack.client.call('register', {
            body: {
              email: `invitee-${i}-${randomUUID()}@example.com`,
              password: 'invitee-password',
              inviteCode: inviter.inviteCode,
            },
          }),
        ),
      );
      for (const res of invitees) {
        expect(res.status).toBe(201);
        expect(res.body.user.inviteCode).not.toBe(inviter.inviteCode);
      }
      // Someone else's invitation does not count for this player.
      const other = await stack.client.call('register', {
        body: {
          email: `other-${randomUUID()}@example.com`,
          password: 'invitee-password',
          inviteCode: players.level.inviteCode,
        },
      });
      expect(other.status).toBe(201);

      await vi.waitFor(
        async () =>
          expect((await progress(inviter, event.id)).condition).toEqual({
            type: 'INVITE_COUNT',
            required: 2,
            current: 2,
            met: true,
          }),
        OUTBOX_WAIT,
      );
      const res = await claim(inviter, event.id);
      expect(res.status).toBe(201);
      expect(res.body.claim).toMatchObject({ status: 'APPROVED', reason: null, userId: inviter.id });
      await vi.waitFor(
        async () =>
          expect((await progress(players.level, event.id)).condition).toMatchObject({ current: 1, met: false }),
        OUTBOX_WAIT,
      );
    });

    it('LEVEL_REACHED uses the highest LEVEL_UP ever, even from before the window', async () => {
      const { level } = players;
      const event = await createEvent(stack, operator.token, { type: 'LEVEL_REACHED', level: 30 });
      const up = (value: number, occurredAt = new Date().toISOString()) => ({
        userId: level.id,
        type: 'LEVEL_UP',
        occurredAt,
        value,
      });
      await postActivities(stack, apiKey, [up(10), up(25)]);
      expect((await progress(level, event.id)).condition).toEqual({
        type: 'LEVEL_REACHED',
        required: 30,
        current: 25,
        met: false,
      });
      expect((await claim(level, event.id)).body.claim).toMatchObject({
        status: 'REJECTED',
        reason: 'CONDITION_NOT_MET',
      });
      await postActivities(stack, apiKey, [up(31, new Date(Date.now() - 100 * DAY_MS).toISOString())]);
      await postActivities(stack, apiKey, [up(20)]);
      expect(await progress(level, event.id)).toMatchObject({
        eligible: true,
        condition: { type: 'LEVEL_REACHED', required: 30, current: 31, met: true },
      });
      expect((await claim(level, event.id)).body.claim).toMatchObject({ status: 'APPROVED', reason: null });
    });

    it('ALL / ANY combine their parts; progress shows the whole tree with exact numbers', async () => {
      const { combo } = players;
      const condition: Condition = {
        type: 'ALL',
        of: [
          { type: 'LEVEL_REACHED', level: 30 },
          {
            type: 'ANY',
            of: [
              { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 5 },
              { type: 'ACTIVITY_SUM', activity: 'PURCHASE', sum: 100 },
            ],
          },
        ],
      };
      const event = await createEvent(stack, operator.token, condition);
      const tree = (level: number, quests: number, spent: number): ProgressNode => ({
        type: 'ALL',
        met: level >= 30 && (quests >= 5 || spent >= 100),
        of: [
          { type: 'LEVEL_REACHED', required: 30, current: level, met: level >= 30 },
          {
            type: 'ANY',
            met: quests >= 5 || spent >= 100,
            of: [
              { type: 'ACTIVITY_COUNT', required: 5, current: quests, met: quests >= 5 },
              { type: 'ACTIVITY_SUM', required: 100, current: spent, met: spent >= 100 },
            ],
          },
        ],
      });
      expect((await progress(combo, event.id)).condition).toEqual(tree(0, 0, 0));

      const now = new Date().toISOString();
      const before = new Date(Date.now() - 20 * DAY_MS).toISOString();
      const act = (type: string, occurredAt: string, value?: number) => ({
        userId: combo.id,
        type,
        occurredAt,
        ...(value === undefined ? {} : { value }),
      });
      await postActivities(stack, apiKey, [
        act('LEVEL_UP', now, 30),
        act('QUEST_CLEARED', now),
        act('QUEST_CLEARED', seoulNoon(-1)),
        act('QUEST_CLEARED', seoulNoon(-8)),
        act('QUEST_CLEARED', before), // outside the window
        act('PURCHASE', now, 40),
        act('PURCHASE', seoulNoon(-3), 59.5),
        act('PURCHASE', before, 1000), // outside the window
      ]);
      expect(await progress(combo, event.id)).toEqual({
        eventId: event.id,
        eligible: false,
        condition: tree(30, 3, 99.5),
        claim: null,
      });
      const rejected = await claim(combo, event.id);
      expect(rejected.body.claim).toMatchObject({ status: 'REJECTED', reason: 'CONDITION_NOT_MET' });

      await postActivities(stack, apiKey, [act('PURCHASE', now, 0.5)]);
      expect(await progress(combo, event.id)).toEqual({
        eventId: event.id,
        eligible: true,
        condition: tree(30, 3, 100),
        claim: rejected.body.claim,
      });
      expect((await claim(combo, event.id)).body.claim).toMatchObject({ status: 'APPROVED', reason: null });
    });

    it('a real /auth/login is a LOGIN: one more login, the same day', async () => {
      const { real } = players;
      const event = await createEvent(stack, operator.token, {
        type: 'ALL',
        of: [
          { type: 'LOGIN_DAYS', days: 1 },
          { type: 'ACTIVITY_COUNT', activity: 'LOGIN', count: 2 },
        ],
      });
      const tree = (logins: number) => ({
        type: 'ALL',
        met: logins >= 2,
        of: [
          { type: 'LOGIN_DAYS', required: 1, current: 1, met: true },
          { type: 'ACTIVITY_COUNT', required: 2, current: logins, met: logins >= 2 },
        ],
      });
      await vi.waitFor(async () => expect((await progress(real, event.id)).condition).toEqual(tree(1)), OUTBOX_WAIT);
      real.token = await signIn(stack, real.email, real.password);
      await vi.waitFor(async () => expect((await progress(real, event.id)).condition).toEqual(tree(2)), OUTBOX_WAIT);
      expect((await claim(real, event.id)).body.claim).toMatchObject({ status: 'APPROVED' });
    });

    // A DRAFT is not among them: for a player it does not exist (see 'a DRAFT does not exist for a player').
    it('EVENT_NOT_ACTIVE: not started, window over, PAUSED and ENDED events record the attempt without touching stock', async () => {
      const { inactive } = players;
      await signInArrived(inactive);
      const met = { type: 'LOGIN_DAYS', days: 1 } as const;
      const now = Date.now();
      const events = {
        notStarted: await createEvent(stack, operator.token, met, {
          startsAt: new Date(now + DAY_MS).toISOString(),
          endsAt: new Date(now + 2 * DAY_MS).toISOString(),
        }),
        over: await createEvent(stack, operator.token, met, {
          startsAt: new Date(now - 3 * DAY_MS).toISOString(),
          endsAt: new Date(now - 60_000).toISOString(),
        }),
        paused: await createEvent(stack, operator.token, met),
        ended: await createEvent(stack, operator.token, met),
      };
      const rewards: Record<string, Reward[]> = {};
      for (const [name, event] of Object.entries(events)) {
        rewards[name] = [
          await createReward(stack, operator.token, event.id, { type: 'POINT', name: 'Points', quantity: 10 }),
          await createReward(stack, operator.token, event.id, {
            type: 'ITEM',
            name: 'Cape',
            itemCode: 'CAPE',
            quantity: 1,
            stock: 1,
          }),
        ];
      }
      for (const [name, status] of [
        ['paused', 'PAUSED'],
        ['ended', 'ENDED'],
      ] as const) {
        const res = await stack.client.call('updateEvent', {
          token: operator.token,
          params: { id: events[name].id },
          body: { status },
        });
        expect(res.status).toBe(200);
      }
      expect(await progress(inactive, events.paused.id)).toEqual({
        eventId: events.paused.id,
        eligible: false,
        condition: { type: 'LOGIN_DAYS', required: 1, current: 1, met: true },
        claim: null,
      });

      for (const [name, event] of Object.entries(events)) {
        const res = await claim(inactive, event.id);
        expect(res.status, name).toBe(201);
        expect(res.body.claim, name).toEqual({
          id: expect.any(String),
          eventId: event.id,
          userId: inactive.id,
          periodKey: 'ONCE',
          status: 'REJECTED',
          reason: 'EVENT_NOT_ACTIVE',
          note: null,
          rewards: snapshot(rewards[name]!),
          createdAt: expect.any(String),
          decidedAt: expect.any(String),
          decidedBy: 'system',
        });
        const stock = await stack.client.call('listRewards', { token: operator.token, params: { id: event.id } });
        expect(
          stock.body.items.map((r) => r.remaining),
          name,
        ).toEqual([null, 1]);
      }

      const resumed = await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: events.paused.id },
        body: { status: 'ACTIVE' },
      });
      expect(resumed.status).toBe(200);
      expect((await progress(inactive, events.paused.id)).eligible).toBe(true);
      const res = await claim(inactive, events.paused.id);
      expect(res.status).toBe(201);
      expect(res.body.claim).toMatchObject({ status: 'APPROVED', reason: null, rewards: snapshot(rewards.paused!) });
      const stock = await stack.client.call('listRewards', { token: operator.token, params: { id: events.paused.id } });
      expect(stock.body.items.map((r) => r.remaining)).toEqual([null, 0]);
    });

    it('repeat DAILY / WEEKLY: one claim per period, keyed by the date in the event time zone', async () => {
      const { daily } = players;
      const condition = { type: 'ACTIVITY_COUNT', activity: 'DAILY_READY', count: 1 } as const;
      await postActivities(stack, apiKey, [
        { userId: daily.id, type: 'DAILY_READY', occurredAt: new Date().toISOString() },
      ]);
      const cases = [
        { repeat: 'DAILY', timezone: undefined, key: () => localDate(new Date(), SEOUL) },
        { repeat: 'DAILY', timezone: 'America/Los_Angeles', key: () => localDate(new Date(), 'America/Los_Angeles') },
        {
          repeat: 'WEEKLY',
          timezone: 'Pacific/Kiritimati',
          key: () => isoWeek(localDate(new Date(), 'Pacific/Kiritimati')),
        },
      ] as const;
      for (const c of cases) {
        const event = await createEvent(stack, operator.token, condition, {
          repeat: c.repeat,
          ...(c.timezone ? { timezone: c.timezone } : {}),
        });
        const first = await claim(daily, event.id);
        expect(first.status).toBe(201);
        expect(first.body.claim).toMatchObject({ status: 'APPROVED', periodKey: c.key() });
        const second = await claim(daily, event.id);
        expect(second.status).toBe(409);
        expect(second.body).toEqual(
          errorBody('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period'),
        );
        expect(await progress(daily, event.id)).toEqual({
          eventId: event.id,
          eligible: false,
          condition: { type: 'ACTIVITY_COUNT', required: 1, current: 1, met: true },
          claim: first.body.claim,
        });
        const history = await stack.client.call('listClaims', { token: daily.token, query: { eventId: event.id } });
        expect(history.body.items).toEqual([first.body.claim]);
      }
    });

    it('404 for claims and progress on an unknown event; 400 for a malformed id', async () => {
      const player = players.daily;
      for (const call of [
        () => stack.client.call('createClaim', { token: player.token, params: { id: randomUUID() } }),
        () => stack.client.call('progress', { token: player.token, params: { id: randomUUID() } }),
      ]) {
        const res = await call();
        expect(res.status).toBe(404);
        expect(res.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));
      }
      const malformed = await stack.client.call('createClaim', { token: player.token, params: { id: 'not-an-id' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual(
        validationError([{ path: 'id', code: 'invalid_format', message: 'Invalid UUID' }]),
      );
      const anonymous = await stack.client.call('createClaim', { params: { id: probe.id } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual(errorBody('UNAUTHENTICATED'));
    });
  });

  describe('manual approval', () => {
    let event: Event;
    let rewards: Reward[];
    let first: Account;
    let second: Account;

    beforeAll(async () => {
      [first, second] = take(2);
      event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
      rewards = [
        await createReward(stack, operator.token, event.id, {
          type: 'ITEM',
          name: 'Sword',
          itemCode: 'SWORD_01',
          quantity: 1,
          stock: 3,
        }),
        await createReward(stack, operator.token, event.id, { type: 'POINT', name: 'Points', quantity: 100 }),
      ];
    });

    it('a pending claim holds its stock; approval writes the grants', async () => {
      const pending = await claim(first, event.id);
      expect(pending.status).toBe(201);
      expect(pending.body).toEqual({
        claim: {
          id: expect.any(String),
          eventId: event.id,
          userId: first.id,
          periodKey: 'ONCE',
          status: 'PENDING',
          reason: null,
          note: null,
          rewards: snapshot(rewards),
          createdAt: expect.any(String),
          decidedAt: null,
          decidedBy: null,
        },
      });
      const held = pending.body.claim;
      expect(await remaining(event.id)).toEqual([2, null]);
      expect(await grantsOf(first)).toEqual([]);
      expect(await stack.client.call('progress', { token: first.token, params: { id: event.id } })).toMatchObject({
        status: 200,
        body: { eligible: false, condition: { met: true }, claim: held },
      });
      const again = await claim(first, event.id);
      expect(again.status).toBe(409);
      expect(again.body).toEqual(ALREADY_CLAIMED);

      const approved = await stack.client.call('approveClaim', { token: operator.token, params: { id: held.id } });
      expect(approved.status).toBe(200);
      expect(approved.body).toEqual({
        claim: { ...held, status: 'APPROVED', decidedAt: expect.any(String), decidedBy: operator.id },
      });
      expect(Date.parse(approved.body.claim.decidedAt!)).toBeGreaterThanOrEqual(Date.parse(held.createdAt));
      expect(byReward(await grantsOf(first))).toEqual(byReward(grantsFor(held, rewards)));
      expect(await remaining(event.id)).toEqual([2, null]);
      const stored = await stack.client.call('getClaim', { token: first.token, params: { id: held.id } });
      expect(stored.body).toEqual(approved.body);

      for (const route of ['approveClaim', 'rejectClaim'] as const) {
        const res = await stack.client.call(route, {
          token: operator.token,
          params: { id: held.id },
          body: route === 'rejectClaim' ? { reason: 'late' } : undefined,
        });
        expect(res.status).toBe(409);
        expect(res.body).toEqual(notPending('APPROVED'));
      }
      expect(await grantsOf(first)).toHaveLength(2);
      const stillOne = await claim(first, event.id);
      expect(stillOne.status).toBe(409);
      expect(stillOne.body).toEqual(ALREADY_CLAIMED);
    });

    it("rejection records the operator's note and releases the stock; the player may claim again", async () => {
      const pending = await claim(second, event.id);
      expect(pending.body.claim.status).toBe('PENDING');
      expect(await remaining(event.id)).toEqual([1, null]);

      const rejected = await stack.client.call('rejectClaim', {
        token: operator.token,
        params: { id: pending.body.claim.id },
        body: { reason: '  Duplicate account  ' },
      });
      expect(rejected.status).toBe(200);
      expect(rejected.body).toEqual({
        claim: {
          ...pending.body.claim,
          status: 'REJECTED',
          reason: 'REJECTED_BY_OPERATOR',
          note: 'Duplicate account',
          decidedAt: expect.any(String),
          decidedBy: operator.id,
        },
      });
      expect(await remaining(event.id)).toEqual([2, null]);
      expect(await grantsOf(second)).toEqual([]);
      for (const route of ['approveClaim', 'rejectClaim'] as const) {
        const res = await stack.client.call(route, {
          token: admin.token,
          params: { id: pending.body.claim.id },
          body: route === 'rejectClaim' ? { reason: 'twice' } : undefined,
        });
        expect(res.status).toBe(409);
        expect(res.body).toEqual(notPending('REJECTED'));
      }
      expect(await remaining(event.id)).toEqual([2, null]);

      const retry = await claim(second, event.id);
      expect(retry.status).toBe(201);
      expect(retry.body.claim).toMatchObject({ status: 'PENDING', reason: null, note: null });
      expect(retry.body.claim.id).not.toBe(pending.body.claim.id);
      expect(await remaining(event.id)).toEqual([1, null]);
      const approved = await stack.client.call('approveClaim', {
        token: admin.token,
        params: { id: retry.body.claim.id },
      });
      expect(approved.body.claim).toMatchObject({ status: 'APPROVED', decidedBy: admin.id });
      expect(byReward(await grantsOf(second))).toEqual(byReward(grantsFor(retry.body.claim, rewards)));
      expect((await claimsOf(event.id)).map((c) => [c.userId, c.status])).toEqual([
        [second.id, 'APPROVED'],
        [second.id, 'REJECTED'],
        [first.id, 'APPROVED'],
      ]);
    });

    it('only OPERATOR and ADMIN decide; 404 for an unknown claim; the reason is validated', async () => {
      const [player] = take();
      const pending = (await claim(player!, event.id)).body.claim;
      for (const who of [player!, auditor]) {
        for (const route of ['approveClaim', 'rejectClaim'] as const) {
          const res = await stack.client.call(route, {
            token: who.token,
            params: { id: pending.id },
            body: route === 'rejectClaim' ? { reason: 'no' } : undefined,
          });
          expect(res.status).toBe(403);
          expect(res.body).toEqual(STAFF_ONLY);
        }
      }
      const anonymous = await stack.client.call('approveClaim', { params: { id: pending.id } });
      expect(anonymous.status).toBe(401);
      for (const route of ['approveClaim', 'rejectClaim'] as const) {
        const res = await stack.client.call(route, {
          token: operator.token,
          params: { id: randomUUID() },
          body: route === 'rejectClaim' ? { reason: 'no' } : undefined,
        });
        expect(res.status).toBe(404);
        expect(res.body).toEqual(errorBody('NOT_FOUND', 'Claim not found'));
      }
      const bad: [unknown, unknown][] = [
        [{}, [{ path: 'reason', code: 'invalid_type', message: 'Invalid input: expected string, received undefined' }]],
        [
          { reason: '   ' },
          [{ path: 'reason', code: 'too_small', message: 'Too small: expected string to have >=1 characters' }],
        ],
        [
          { reason: 'x'.repeat(501) },
          [{ path: 'reason', code: 'too_big', message: 'Too big: expected string to have <=500 characters' }],
        ],
        [
          { reason: 'no', notify: true },
          [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "notify"' }],
        ],
        [
          { reason: 'bad\u0000' },
          [{ path: 'reason', code: 'invalid_format', message: 'must not contain the NUL character' }],
        ],
      ];
      for (const [body, details] of bad) {
        const res = await stack.client.call('rejectClaim', { token: operator.token, params: { id: pending.id }, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body).toEqual(validationError(details));
      }
      const untouched = await stack.client.call('getClaim', { token: operator.token, params: { id: pending.id } });
      expect(untouched.body.claim).toEqual(pending);
    });
  });

  describe('reading claims', () => {
    let e1: Event;
    let e2: Event;
    let p1: Account;
    let p2: Account;
    let p3: Account;
    let c: Claim[];

    beforeAll(async () => {
      [p1, p2] = take(2);
      p3 = unready[0]!;
      e1 = await createEvent(stack, operator.token, READY);
      e2 = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
      const made: Claim[] = [];
      for (const [player, event] of [
        [p1, e1],
        [p2, e1],
        [p1, e2],
        [p2, e2],
        [p3, e1],
        [p3, e2],
      ] as const) {
        const res = await claim(player, event.id);
        expect(res.status).toBe(201);
        made.push(res.body.claim);
      }
      const rejected = await stack.client.call('rejectClaim', {
        token: operator.token,
        params: { id: made[3]!.id },
        body: { reason: 'no' },
      });
      made[3] = rejected.body.claim;
      c = made;
      expect(c.map((x) => x.status)).toEqual(['APPROVED', 'APPROVED', 'PENDING', 'REJECTED', 'REJECTED', 'REJECTED']);
      expect(c.map((x) => x.reason)).toEqual([
        null,
        null,
        null,
        'REJECTED_BY_OPERATOR',
        'CONDITION_NOT_MET',
        'CONDITION_NOT_MET',
      ]);
    });
    const list = async (query: Record<string, string | number>, token = admin.token) => {
      const res = await stack.client.call('listClaims', { token, query: { limit: 100, ...query } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.items;
    };

    it('filters by event, user, status and creation time, newest first', async () => {
      expect(await list({ eventId: e1.id })).toEqual([c[4], c[1], c[0]]);
      expect(ids(await list({ eventId: e2.id }))).toEqual(ids([c[5]!, c[3]!, c[2]!]));
      expect(ids(await list({ userId: p1.id }))).toEqual(ids([c[2]!, c[0]!]));
      expect(ids(await list({ userId: p3.id, eventId: e2.id }))).toEqual([c[5]!.id]);
      expect(ids(await list({ eventId: e2.id, status: 'PENDING' }))).toEqual([c[2]!.id]);
      expect(ids(await list({ eventId: e2.id, status: 'REJECTED' }))).toEqual(ids([c[5]!, c[3]!]));
      expect(ids(await list({ eventId: e1.id, status: 'APPROVED' }))).toEqual(ids([c[1]!, c[0]!]));
      // from and to are inclusive, and taken from the claims themselves.
      expect(ids(await list({ from: c[1]!.createdAt, to: c[4]!.createdAt }))).toEqual(
        ids([c[4]!, c[3]!, c[2]!, c[1]!]),
      );
      expect(ids(await list({ from: c[2]!.createdAt, to: c[2]!.createdAt }))).toEqual([c[2]!.id]);
      expect(ids(await list({ from: c[5]!.createdAt, eventId: e1.id }))).toEqual([]);
      expect(ids(await list({ to: c[0]!.createdAt, eventId: e1.id }))).toEqual([c[0]!.id]);
      expect(await list({ eventId: randomUUID() })).toEqual([]);
    });

    it("a player sees only their own claims; staff and auditors see everyone's", async () => {
      expect(await list({}, p1.token)).toEqual([c[2], c[0]]);
      expect(await list({ userId: p2.id }, p1.token)).toEqual([]);
      expect(await list({ userId: p1.id, eventId: e1.id }, p1.token)).toEqual([c[0]]);
      expect(await list({ eventId: e1.id }, p1.token)).toEqual([c[0]]);
      expect(await list({ status: 'PENDING' }, p1.token)).toEqual([c[2]]);
      expect(await list({ eventId: e1.id }, p3.token)).toEqual([c[4]]);
      for (const who of [operator, auditor])
        expect(await list({ eventId: e1.id }, who.token)).toEqual([c[4], c[1], c[0]]);
    });

    it("GET /claims/{id}: the owner and staff; 404 for anyone else's claim", async () => {
      for (const who of [p1, operator, auditor, admin]) {
        const res = await stack.client.call('getClaim', { token: who.token, params: { id: c[0]!.id } });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ claim: c[0] });
      }
      const foreign = await stack.client.call('getClaim', { token: p2.token, params: { id: c[0]!.id } });
      expect(foreign.status).toBe(404);
      expect(foreign.body).toEqual(errorBody('NOT_FOUND', 'Claim not found'));
      const unknown = await stack.client.call('getClaim', { token: admin.token, params: { id: randomUUID() } });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(errorBody('NOT_FOUND', 'Claim not found'));
      const malformed = await stack.client.call('getClaim', { token: admin.token, params: { id: '42' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual(
        validationError([{ path: 'id', code: 'invalid_format', message: 'Invalid UUID' }]),
      );
      const anonymous = await stack.client.call('getClaim', { params: { id: c[0]!.id } });
      expect(anonymous.status).toBe(401);
    });

    it('rejects bad filters', async () => {
      const cases: [Record<string, string | number>, unknown][] = [
        [
          { status: 'DONE' },
          [
            {
              path: 'status',
              code: 'invalid_value',
              message: 'Invalid option: expected one of "PENDING"|"APPROVED"|"REJECTED"',
            },
          ],
        ],
        [{ from: 'yesterday' }, [{ path: 'from', code: 'invalid_format', message: 'Invalid ISO datetime' }]],
        [{ userId: 'me' }, [{ path: 'userId', code: 'invalid_format', message: 'Invalid UUID' }]],
        [{ limit: 0 }, [{ path: 'limit', code: 'too_small', message: 'Too small: expected number to be >=1' }]],
        [{ cursor: 'eyJ4IjoxfQ' }, [{ path: 'cursor', code: 'invalid', message: 'Unknown cursor' }]],
        [{ eventld: e1.id }, [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "eventld"' }]],
      ];
      for (const [query, details] of cases) {
        const res = await stack.client.call('listClaims', { token: admin.token, query });
        expect(res.status, JSON.stringify(query)).toBe(400);
        expect(res.body).toEqual(validationError(details));
      }
    });

    it('pages with limit=2 without overlap or gap, also when claims arrive together', async () => {
      const event = await createEvent(stack, operator.token, READY);
      const racers = take(7);
      const made = await Promise.all(racers.map((p) => claim(p, event.id)));
      expect(made.map((r) => r.status)).toEqual(Array(7).fill(201));
      const all = await claimsOf(event.id);
      expect(all).toHaveLength(7);
      const paged = await walk(
        (cursor) =>
          stack.client.call('listClaims', { token: admin.token, query: { eventId: event.id, limit: 2, cursor } }),
        2,
      );
      expect(paged.items).toEqual(all);
      expect(paged.pages).toBe(4);

      const everything = await walk(
        (cursor) => stack.client.call('listClaims', { token: auditor.token, query: { limit: 100, cursor } }),
        100,
      );
      const pagedEverything = await walk(
        (cursor) => stack.client.call('listClaims', { token: auditor.token, query: { limit: 2, cursor } }),
        2,
      );
      expect(ids(pagedEverything.items)).toEqual(ids(everything.items));
      expect(new Set(ids(everything.items)).size).toBe(everything.items.length);
      const created = everything.items.map((x) => Date.parse(x.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));

      const own = await walk(
        (cursor) => stack.client.call('listClaims', { token: p1.token, query: { limit: 1, cursor } }),
        1,
      );
      expect(own.items).toEqual([c[2], c[0]]);
    });
  });

  describe('GET /me/rewards', () => {
    it("lists the caller's grants, newest first, and pages through grants written together", async () => {
      const [player, other] = take(2);
      const bundle = await createEvent(stack, operator.token, READY);
      const bundleRewards = [
        await createReward(stack, operator.token, bundle.id, { type: 'POINT', name: 'Points', quantity: 500 }),
        await createReward(stack, operator.token, bundle.id, {
          type: 'ITEM',
          name: 'Shield',
          itemCode: 'SHIELD_02',
          quantity: 1,
          stock: 10,
        }),
        await createReward(stack, operator.token, bundle.id, {
          type: 'COUPON',
          name: '10% off',
          itemCode: 'TENOFF',
          quantity: 1,
        }),
      ];
      const single = await createEvent(stack, operator.token, READY);
      const singleRewards = [
        await createReward(stack, operator.token, single.id, { type: 'CURRENCY', name: 'Gems', quantity: 50 }),
      ];

      const first = (await claim(player!, bundle.id)).body.claim;
      const second = (await claim(player!, single.id)).body.claim;
      expect([first.status, second.status]).toEqual(['APPROVED', 'APPROVED']);
      const grants = await grantsOf(player!);
      expect(grants).toHaveLength(4);
      expect(grants[0]).toEqual(grantsFor(second, singleRewards)[0]);
      expect(byReward(grants.slice(1))).toEqual(byReward(grantsFor(first, bundleRewards)));
      expect(Date.parse(grants[0]!.grantedAt)).toBeGreaterThanOrEqual(Date.parse(grants[1]!.grantedAt));

      const paged = await walk(
        (cursor) => stack.client.call('myRewards', { token: player!.token, query: { limit: 1, cursor } }),
        1,
      );
      expect(paged.items).toEqual(grants);
      expect(await grantsOf(other!)).toEqual([]);

      const bad = await stack.client.call('myRewards', { token: player!.token, query: { limit: 101 } });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual(
        validationError([{ path: 'limit', code: 'too_big', message: 'Too big: expected number to be <=100' }]),
      );
      const unknown = await stack.client.call('myRewards', { token: player!.token, query: { eventId: bundle.id } });
      expect(unknown.status).toBe(400);
      expect(unknown.body).toEqual(
        validationError([{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "eventId"' }]),
      );
      const anonymous = await stack.client.call('myRewards', {});
      expect(anonymous.status).toBe(401);
    });
  });

  describe('Idempotency-Key', () => {
    it('a replay returns the first response: same status, same claim, one row', async () => {
      const [player] = take();
      const event = await createEvent(stack, operator.token, READY);
      await createReward(stack, operator.token, event.id, {
        type: 'ITEM',
        name: 'Ring',
        itemCode: 'RING',
        quantity: 1,
        stock: 5,
      });
      const key = { 'Idempotency-Key': `claim-${randomUUID()}` };
      const first = await claim(player!, event.id, key);
      const replay = await claim(player!, event.id, key);
      expect(first.status).toBe(201);
      expect(replay.status).toBe(201);
      expect(first.body.claim.status).toBe('APPROVED');
      expect(replay.body).toEqual(first.body);
      expect(await claimsOf(event.id)).toEqual([first.body.claim]);
      expect(await remaining(event.id)).toEqual([4]);
      expect((await grantsOf(player!)).filter((g) => g.eventId === event.id)).toHaveLength(1);
      // Without the key the same player is told it is already claimed.
      const plain = await claim(player!, event.id);
      expect(plain.status).toBe(409);
      expect(plain.body).toEqual(ALREADY_CLAIMED);
    });

    it('replays a rejection too; a new key is a new attempt', async () => {
      const player = unready[1]!;
      const event = await createEvent(stack, operator.token, READY);
      const key = { 'Idempotency-Key': randomUUID() };
      const first = await claim(player, event.id, key);
      expect(first.body.claim).toMatchObject({ status: 'REJECTED', reason: 'CONDITION_NOT_MET' });
      expect((await claim(player, event.id, key)).body).toEqual(first.body);
      expect(await claimsOf(event.id)).toEqual([first.body.claim]);
      const fresh = await claim(player, event.id, { 'Idempotency-Key': randomUUID() });
      expect(fresh.status).toBe(201);
      expect(fresh.body.claim.id).not.toBe(first.body.claim.id);
      expect(ids(await claimsOf(event.id))).toEqual([fresh.body.claim.id, first.body.claim.id]);
    });

    it('replays the first (PENDING) response even after the claim was decided', async () => {
      const [player] = take();
      const event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
      const key = { 'Idempotency-Key': randomUUID() };
      const first = await claim(player!, event.id, key);
      expect(first.body.claim.status).toBe('PENDING');
      await stack.client.call('approveClaim', { token: operator.token, params: { id: first.body.claim.id } });
      const replay = await claim(player!, event.id, key);
      expect(replay.status).toBe(201);
      expect(replay.body).toEqual(first.body);
    });

    it('10 concurrent requests with one key: all 201 with one claim id, one row', async () => {
      const [player] = take();
      const event = await createEvent(stack, operator.token, READY);
      const key = { 'Idempotency-Key': randomUUID() };
      const results = await Promise.all(Array.from({ length: 10 }, () => claim(player!, event.id, key)));
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(results.map((r) => r.body.claim.id)).size).toBe(1);
      for (const r of results) expect(r.body).toEqual(results[0]!.body);
      expect(await claimsOf(event.id)).toEqual([results[0]!.body.claim]);
      expect((await grantsOf(player!)).filter((g) => g.eventId === event.id)).toEqual([]);
    });

    it('keys belong to one player and one event', async () => {
      const [a, b] = take(2);
      const event = await createEvent(stack, operator.token, READY);
      const other = await createEvent(stack, operator.token, READY);
      const key = { 'Idempotency-Key': 'shared-key-1' };
      const byA = await claim(a!, event.id, key);
      const byB = await claim(b!, event.id, key);
      expect([byA.status, byB.status]).toEqual([201, 201]);
      expect(byA.body.claim.userId).toBe(a!.id);
      expect(byB.body.claim.userId).toBe(b!.id);
      expect(byB.body.claim.id).not.toBe(byA.body.claim.id);
      const reused = await claim(a!, other.id, key);
      expect(reused.status).toBe(409);
      expect(reused.body).toEqual(
        errorBody('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used for a different request'),
      );
      expect(await claimsOf(other.id)).toEqual([]);
      for (const bad of ['has space', 'x'.repeat(129)]) {
        const res = await claim(a!, other.id, { 'Idempotency-Key': bad });
        expect(res.status).toBe(400);
        expect(res.body).toEqual(
          validationError([
            { path: 'Idempotency-Key', code: 'invalid_format', message: '1 to 128 visible ASCII characters' },
          ]),
        );
      }
    });
  });

  describe('a DRAFT does not exist for a player', () => {
    it('a USER gets 404 on every route under /events/{id}, records nothing and locks nothing; once ACTIVE they can claim', async () => {
      const [player] = take();
      // The player has one READY fact: this condition is not met until the operator lowers it.
      const draft = await createEvent(stack, operator.token, { ...READY, count: 2 }, { status: 'DRAFT' });
      const reward = await createReward(stack, operator.token, draft.id, {
        type: 'ITEM',
        name: 'Prototype',
        itemCode: 'PROTO',
        quantity: 1,
        stock: 5,
      });
      const NOT_FOUND = errorBody('NOT_FOUND', 'Event not found');
      const key = `draft-${randomUUID()}`;

      const answers = {
        getEvent: await stack.client.call('getEvent', { token: player!.token, params: { id: draft.id } }),
        listRewards: await stack.client.call('listRewards', { token: player!.token, params: { id: draft.id } }),
        progress: await stack.client.call('progress', { token: player!.token, params: { id: draft.id } }),
        createClaim: await claim(player!, draft.id),
        createClaimWithKey: await claim(player!, draft.id, { 'Idempotency-Key': key }),
        createClaimWithKeyAgain: await claim(player!, draft.id, { 'Idempotency-Key': key }),
        unknownEvent: await claim(player!, randomUUID()),
      };
      for (const [route, res] of Object.entries(answers)) {
        expect(res.status, route).toBe(404);
        expect(res.body, route).toEqual(NOT_FOUND);
      }
      // The staff routes under /events/{id} are closed to players by role.
      const patchByPlayer = await stack.client.call('updateEvent', {
        token: player!.token,
        params: { id: draft.id },
        body: { title: 'x' },
      });
      const rewardByPlayer = await stack.client.call('createReward', {
        token: player!.token,
        params: { id: draft.id },
        body: { type: 'POINT', name: 'p', quantity: 1 },
      });
      for (const res of [patchByPlayer, rewardByPlayer]) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual(STAFF_ONLY);
      }

      // Nothing recorded: no claim, no Idempotency-Key, no stock held; staff still see the draft, unlocked.
      expect(await claimsOf(draft.id)).toEqual([]);
      expect(await remaining(draft.id)).toEqual([5]);
      const staffView = await stack.client.call('getEvent', { token: operator.token, params: { id: draft.id } });
      expect(staffView.status).toBe(200);
      expect(staffView.body.event).toEqual({ ...draft, rewards: [reward] });
      await withEventDb(async (db) => {
        expect(
          await db.query('select id from claims where event_id = $1 or user_id = $2', [draft.id, player!.id]),
        ).toEqual([]);
        expect(
          await db.query('select key from idempotency_keys where event_id = $1 or user_id = $2', [
            draft.id,
            player!.id,
          ]),
        ).toEqual([]);
      });

      // Not locked: the operator may still change the condition.
      const lowered = await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: draft.id },
        body: { condition: READY },
      });
      expect(lowered.status).toBe(200);
      expect(lowered.body.event).toMatchObject({ status: 'DRAFT', condition: READY, locked: false });
      const activated = await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: draft.id },
        body: { status: 'ACTIVE' },
      });
      expect(activated.status).toBe(200);
      expect(activated.body.event).toMatchObject({ status: 'ACTIVE', locked: false });

      // Live now: the same player, the same key (it was never stored), a real claim with the current condition.
      const won = await claim(player!, draft.id, { 'Idempotency-Key': key });
      expect(won.status).toBe(201);
      expect(won.body).toEqual({
        claim: {
          id: expect.any(String),
          eventId: draft.id,
          userId: player!.id,
          periodKey: 'ONCE',
          status: 'APPROVED',
          reason: null,
          note: null,
          rewards: snapshot([reward]),
          createdAt: expect.any(String),
          decidedAt: expect.any(String),
          decidedBy: 'system',
        },
      });
      expect((await claim(player!, draft.id, { 'Idempotency-Key': key })).body).toEqual(won.body);
      expect(await claimsOf(draft.id)).toEqual([won.body.claim]);
      expect(await remaining(draft.id)).toEqual([4]);
      const progress = await stack.client.call('progress', { token: player!.token, params: { id: draft.id } });
      expect(progress.status).toBe(200);
      expect(progress.body).toEqual({
        eventId: draft.id,
        eligible: false,
        condition: { type: 'ACTIVITY_COUNT', required: 1, current: 1, met: true },
        claim: won.body.claim,
      });
    });
  });

  describe('nobody decides their own claim', () => {
    it('an OPERATOR or ADMIN cannot approve or reject their own PENDING claim: 403, nothing granted or logged; another operator can', async () => {
      const selfOp = await createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'self-operator' });
      await postActivities(
        stack,
        apiKey,
        [selfOp, admin].map((a) => ({ userId: a.id, type: 'READY', occurredAt: new Date().toISOString() })),
      );
      const event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
      const rewards = [
        await createReward(stack, operator.token, event.id, {
          type: 'ITEM',
          name: 'Badge',
          itemCode: 'BADGE',
          quantity: 1,
          stock: 5,
        }),
        await createReward(stack, operator.token, event.id, { type: 'POINT', name: 'Points', quantity: 50 }),
      ];
      const byOperator = await claim(selfOp, event.id);
      const byAdmin = await claim(admin, event.id);
      for (const res of [byOperator, byAdmin]) {
        expect(res.status).toBe(201);
        expect(res.body.claim).toMatchObject({ status: 'PENDING', decidedAt: null, decidedBy: null });
      }
      const mine = byOperator.body.claim;
      const admins = byAdmin.body.claim;
      expect(await remaining(event.id)).toEqual([3, null]);

      const OWN = errorBody('FORBIDDEN', 'You cannot approve or reject your own claim');
      for (const [who, pending] of [
        [selfOp, mine],
        [admin, admins],
      ] as const) {
        const approve = await stack.client.call('approveClaim', { token: who.token, params: { id: pending.id } });
        expect(approve.status).toBe(403);
        expect(approve.body).toEqual(OWN);
        const reject = await stack.client.call('rejectClaim', {
          token: who.token,
          params: { id: pending.id },
          body: { reason: 'my own' },
        });
        expect(reject.status).toBe(403);
        expect(reject.body).toEqual(OWN);
        const stored = await stack.client.call('getClaim', { token: auditor.token, params: { id: pending.id } });
        expect(stored.body).toEqual({ claim: pending });
      }
      // Still PENDING, stock still held, nothing granted, nothing in the audit log.
      expect(await remaining(event.id)).toEqual([3, null]);
      expect(await grantsOf(selfOp)).toEqual([]);
      expect((await grantsOf(admin)).filter((g) => g.eventId === event.id)).toEqual([]);
      await withEventDb(async (db) => {
        const rows = await db.query(
          'select id::text, status, reason, note, decided_at, decided_by from claims where event_id = $1 order by created_at, id',
          [event.id],
        );
        expect(rows).toEqual(
          expect.arrayContaining(
            [mine, admins].map((c) => ({
              id: c.id,
              status: 'PENDING',
              reason: null,
              note: null,
              decided_at: null,
              decided_by: null,
            })),
          ),
        );
        expect(rows).toHaveLength(2);
        expect(await db.query('select id from grants where event_id = $1', [event.id])).toEqual([]);
        expect(
          await db.query('select id from audit_log where target_id = any($1::text[])', [[mine.id, admins.id]]),
        ).toEqual([]);
      });

      // Someone else's claim: the same operator may decide it, and another operator decides theirs.
      const approved = await stack.client.call('approveClaim', { token: operator.token, params: { id: mine.id } });
      expect(approved.status).toBe(200);
      expect(approved.body).toEqual({
        claim: { ...mine, status: 'APPROVED', decidedAt: expect.any(String), decidedBy: operator.id },
      });
      const rejected = await stack.client.call('rejectClaim', {
        token: selfOp.token,
        params: { id: admins.id },
        body: { reason: 'Staff test account' },
      });
      expect(rejected.status).toBe(200);
      expect(rejected.body).toEqual({
        claim: {
          ...admins,
          status: 'REJECTED',
          reason: 'REJECTED_BY_OPERATOR',
          note: 'Staff test account',
          decidedAt: expect.any(String),
          decidedBy: selfOp.id,
        },
      });
      expect(byReward(await grantsOf(selfOp))).toEqual(byReward(grantsFor(mine, rewards)));
      expect(await remaining(event.id)).toEqual([4, null]);
      // Decided or not, one's own claim stays out of reach.
      const late = await stack.client.call('approveClaim', { token: selfOp.token, params: { id: mine.id } });
      expect(late.status).toBe(403);
      expect(late.body).toEqual(OWN);

      const log = (
        await walk(
          (cursor) => stack.client.call('auditLog', { token: auditor.token, query: { limit: 100, cursor } }),
          100,
        )
      ).items;
      expect(
        log
          .filter((e) => e.targetId === mine.id || e.targetId === admins.id)
          .map((e) => [e.action, e.actorId, e.targetId]),
      ).toEqual([
        ['claim.reject', selfOp.id, admins.id],
        ['claim.approve', operator.id, mine.id],
      ]);
    });
  });
});
