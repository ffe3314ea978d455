import { randomUUID } from 'node:crypto';
import type { Claim, Grant, Reward } from '@rewards/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  adminAccount,
  createAccount,
  createAccounts,
  createApiKey,
  createEvent,
  createReward,
  errorBody,
  postActivities,
  validationError,
  type Account,
} from '../support/fixtures.js';
import { openServiceDb } from '../support/db.js';
import { startStack, type Stack } from '../support/stack.js';

const READY = { type: 'ACTIVITY_COUNT', activity: 'READY', count: 1 } as const;
const UNKNOWN_CURSOR = validationError([{ path: 'after', code: 'invalid', message: 'Unknown cursor' }]);
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

type Caller = { token: string } | { apiKey: string };
interface FeedQuery {
  after?: string;
  limit?: number;
  userId?: string;
}

describe('GET /grants: the grants feed', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  let player: Account;
  /** Players who have met READY; `take()` hands out ones no other test used. */
  let pool: Account[];
  let writeKey: string;
  let readKey: string;
  /** The cursor of the very first page, taken before any grant existed. */
  let start: string;
  const take = (n = 1) => {
    if (pool.length < n) throw new Error('player pool exhausted');
    return pool.splice(0, n);
  };

  const feed = (caller: Caller, query: FeedQuery = {}) => stack.client.call('grantsFeed', { ...caller, query });
  /** Reads pages from `after` until one has nothing new; each page must answer 200 and move the cursor on. */
  async function drain(after: string | undefined, query: Omit<FeedQuery, 'after'> = {}, caller?: Caller) {
    const items: Grant[] = [];
    let cursor = after;
    for (let pages = 0; pages < 1000; pages++) {
      const res = await feed(caller ?? { token: admin.token }, { ...query, after: cursor });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(query.limit ?? 20);
      if (res.body.items.length === 0) {
        if (cursor !== undefined) expect(res.body.nextCursor).toBe(cursor);
        return { items, cursor: res.body.nextCursor };
      }
      expect(res.body.nextCursor).not.toBe(cursor);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
    }
    throw new Error('the feed never ends');
  }
  /** The cursor past every grant committed so far. */
  const tail = async () => (await drain(undefined, { limit: 100 })).cursor;
  const claim = async (who: Account, eventId: string) => {
    const res = await stack.client.call('createClaim', { token: who.token, params: { id: eventId } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.claim.status).toBe('APPROVED');
    return res.body.claim;
  };
  /** An active event anyone READY may claim once, with one reward per entry. */
  const eventWith = async (...rewards: Parameters<typeof createReward>[3][]) => {
    const event = await createEvent(stack, operator.token, READY);
    const created: Reward[] = [];
    for (const r of rewards) created.push(await createReward(stack, operator.token, event.id, r));
    return { event, rewards: created };
  };
  const points = (quantity = 10) => ({ type: 'POINT', name: 'Points', quantity }) as const;
  const feedGrantsFor = (c: Claim, rewards: Reward[]): Grant[] =>
    rewards.map((r) => ({
      id: expect.any(String),
      userId: c.userId,
      claimId: c.id,
      eventId: c.eventId,
      rewardId: r.id,
      type: r.type,
      name: r.name,
      itemCode: r.itemCode,
      quantity: r.quantity,
      grantedAt: expect.any(String),
    }));
  const byReward = <T extends { rewardId: string }>(grants: T[]) =>
    [...grants].sort((a, b) => (a.rewardId < b.rewardId ? -1 : 1));
  const claimIds = (items: Grant[]) => items.map((g) => g.claimId);
  const expectOnce = (items: Grant[]) => expect(new Set(items.map((g) => g.id)).size).toBe(items.length);
  /** Grant ids as the event database orders its feed. */
  async function idsInFeedOrder(): Promise<string[]> {
    const db = await openServiceDb(stack, 'event');
    try {
      return (await db.query<{ id: string }>('select id from grants order by tx_id, seq')).map((r) => r.id);
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    stack = await startStack();
    admin = await adminAccount(stack);
    [operator, auditor, player] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
      createAccount(stack, admin.token, { label: 'player' }),
    ]);
    pool = await createAccounts(stack, admin.token, 16);
    writeKey = (await createApiKey(stack, admin.token)).key;
    const read = await stack.client.call('createApiKey', {
      token: admin.token,
      body: { name: 'grants-reader', scopes: ['grants:read'] },
    });
    expect(read.status, JSON.stringify(read.body)).toBe(201);
    readKey = read.body.key;
    const first = await feed({ token: admin.token });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ items: [], nextCursor: expect.any(String) });
    start = first.body.nextCursor;
    await postActivities(
      stack,
      writeKey,
      pool.map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('starts with a cursor a reader can keep, and an empty page returns the cursor it was given', async () => {
    expect(await feed({ token: admin.token }, { after: start })).toMatchObject({
      status: 200,
      body: { items: [], nextCursor: start },
    });
    const { event, rewards } = await eventWith(points(5));
    const [p] = take();
    const c = await claim(p!, event.id);
    const page = await feed({ token: admin.token }, { after: start, limit: 100 });
    expect(page.status).toBe(200);
    expect(page.body.items.at(-1)).toEqual(feedGrantsFor(c, rewards)[0]);
    const next = page.body.nextCursor;
    expect(next).not.toBe(start);
    expect((await feed({ token: admin.token }, { after: next })).body).toEqual({ items: [], nextCursor: next });
  });

  it('is open to ADMIN, AUDITOR and API keys with grants:read; not to OPERATOR, USER or other keys', async () => {
    for (const caller of [{ token: admin.token }, { token: auditor.token }, { apiKey: readKey }]) {
      const res = await feed(caller, { limit: 1 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ items: expect.any(Array), nextCursor: expect.any(String) });
    }
    const staffOnly = errorBody('FORBIDDEN', 'Requires one of the roles: AUDITOR, ADMIN');
    for (const token of [operator.token, player.token]) {
      const res = await feed({ token });
      expect(res.status).toBe(403);
      expect(res.body).toEqual(staffOnly);
    }
    const wrongScope = await feed({ apiKey: writeKey });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.body).toEqual(errorBody('FORBIDDEN', 'This API key lacks the scope grants:read'));
    const anonymous = await feed({ token: '' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual(errorBody('UNAUTHENTICATED'));
  });

  it('delivers each grant with its owner, exactly as /me/rewards shows it, stocked rewards included', async () => {
    const from = await tail();
    const { event, rewards } = await eventWith(
      points(500),
      { type: 'ITEM', name: 'Shield', itemCode: 'SHIELD_02', quantity: 1, stock: 10 },
      { type: 'COUPON', name: '10% off', itemCode: 'TENOFF', quantity: 1, stock: 10 },
    );
    const [p] = take();
    const c = await claim(p!, event.id);
    const { items } = await drain(from, {}, { apiKey: readKey });
    expect(items).toHaveLength(3);
    expect(byReward(items)).toEqual(byReward(feedGrantsFor(c, rewards)));
    const mine = await stack.client.call('myRewards', { token: p!.token, query: { limit: 100 } });
    expect(byReward(items)).toEqual(byReward(mine.body.items.map((g) => ({ ...g, userId: p!.id }))));
  });

  it('pages through grants in commit order, each exactly once, including grants committed while it reads', async () => {
    const from = await tail();
    const a = await eventWith(points(1), { type: 'CURRENCY', name: 'Gems', quantity: 2 });
    const b = await eventWith(points(3));
    const c = await eventWith({ type: 'ITEM', name: 'Ring', itemCode: 'RING', quantity: 1, stock: 3 });
    const [p1, p2, p3, p4] = take(4);
    const c1 = await claim(p1!, a.event.id);
    const c2 = await claim(p2!, b.event.id);
    const c3 = await claim(p3!, c.event.id);

    const all = await drain(from, { limit: 100 });
    expect(claimIds(all.items)).toEqual([c1.id, c1.id, c2.id, c3.id]);
    expect(byReward(all.items.slice(0, 2))).toEqual(byReward(feedGrantsFor(c1, a.rewards)));
    expect(all.items.slice(2)).toEqual([...feedGrantsFor(c2, b.rewards), ...feedGrantsFor(c3, c.rewards)]);
    for (const limit of [1, 2, 3]) expect((await drain(from, { limit })).items).toEqual(all.items);

    // A reader part-way through: grants committed meanwhile arrive after the ones before them.
    const first = await feed({ token: auditor.token }, { after: from, limit: 1 });
    expect(first.body.items).toEqual(all.items.slice(0, 1));
    const c4 = await claim(p4!, b.event.id);
    const rest = await drain(first.body.nextCursor, { limit: 2 }, { token: auditor.token });
    const seen = [...first.body.items, ...rest.items];
    expectOnce(seen);
    expect(seen).toEqual([...all.items, ...feedGrantsFor(c4, b.rewards)]);
    expect((await feed({ token: admin.token }, { after: rest.cursor })).body).toEqual({
      items: [],
      nextCursor: rest.cursor,
    });

    // From the start cursor, or with no cursor at all: every grant ever committed, in the database's feed order.
    const everything = await drain(start, { limit: 7 });
    expectOnce(everything.items);
    expect(everything.items.map((g) => g.id)).toEqual(await idsInFeedOrder());
    expect((await drain(undefined, { limit: 100 })).items).toEqual(everything.items);
  });

  it("filters by userId: only that player's grants, in order, with cursors that keep the filter's place", async () => {
    const from = await tail();
    const e1 = await eventWith(points(7));
    const e2 = await eventWith(points(8), { type: 'COUPON', name: 'Free', itemCode: 'FREE', quantity: 1 });
    const [p1, p2] = take(2);
    const a = await claim(p1!, e1.event.id);
    const b = await claim(p2!, e1.event.id);
    const c = await claim(p1!, e2.event.id);

    const own = await drain(from, { userId: p1!.id, limit: 1 });
    expect(claimIds(own.items)).toEqual([a.id, c.id, c.id]);
    expect(own.items[0]).toEqual(feedGrantsFor(a, e1.rewards)[0]);
    expect(byReward(own.items.slice(1))).toEqual(byReward(feedGrantsFor(c, e2.rewards)));
    expect((await drain(from, { userId: p2!.id })).items).toEqual(feedGrantsFor(b, e1.rewards));

    const nobody = randomUUID();
    expect((await feed({ token: admin.token }, { after: from, userId: nobody })).body).toEqual({
      items: [],
      nextCursor: from,
    });
    const none = await feed({ token: admin.token }, { userId: nobody });
    expect(none.body).toEqual({ items: [], nextCursor: expect.any(String) });
    expect((await drain(none.body.nextCursor, { userId: nobody })).items).toEqual([]);
  });

  it('answers 400 for a malformed cursor, limit or filter', async () => {
    const malformed = [
      'not a cursor',
      'bm90LWpzb24',
      cursorOf(['1']),
      cursorOf(['x', '1']),
      cursorOf([1, 2]),
      cursorOf(['-1', '0']),
      cursorOf(['01', '0']),
      cursorOf(['9223372036854775808', '0']),
      cursorOf({ tx: '1', seq: '1' }),
      `${start}=`,
      `${start}+`,
      // A position of another server: a horizon past this one's.
      cursorOf([['999999999999', []], null, null]),
    ];
    for (const after of malformed) {
      const res = await feed({ token: admin.token }, { after });
      expect(res.status, after).toBe(400);
      expect(res.body, after).toEqual(UNKNOWN_CURSOR);
    }
    const cases: [Record<string, string | number>, unknown][] = [
      [{ after: 'a'.repeat(8193) }, [{ path: 'after', code: 'too_big', message: expect.any(String) }]],
      [{ limit: 0 }, [{ path: 'limit', code: 'too_small', message: 'Too small: expected number to be >=1' }]],
      [{ limit: 101 }, [{ path: 'limit', code: 'too_big', message: 'Too big: expected number to be <=100' }]],
      [{ userId: 'someone' }, [{ path: 'userId', code: 'invalid_format', message: 'Invalid UUID' }]],
      [{ cursor: start }, [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "cursor"' }]],
    ];
    for (const [query, details] of cases) {
      const res = await stack.client.call('grantsFeed', { token: admin.token, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body).toEqual(validationError(details));
    }
  });

  it('delivers grants committed while an older transaction stays open, and its grant once it commits, each once', async () => {
    const { event, rewards } = await eventWith(points(2));
    const [slowPlayer, q1, q2] = take(3);
    const from = await tail();

    // A slow approval: its claim and grant are written, and its transaction stays open.
    const slow = new pg.Client({ connectionString: stack.databaseUrls.event });
    await slow.connect();
    const slowClaim = randomUUID();
    const slowGrant = randomUUID();
    try {
      await slow.query('begin');
      await slow.query(
        `insert into claims (id, user_id, event_id, period_key, status, rewards, decided_at, decided_by)
         values ($1, $2, $3, 'ONCE', 'APPROVED', '[]', now(), 'slow-test')`,
        [slowClaim, slowPlayer!.id, event.id],
      );
      await slow.query(
        `insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity)
         values ($1, $2, $3, $4, $5, 'POINT', 'Slow points', null, 2)`,
        [slowGrant, slowPlayer!.id, slowClaim, event.id, rewards[0]!.id],
      );

      // Grants of later transactions commit meanwhile: the open one holds none of them back.
      const c1 = await claim(q1!, event.id);
      const early = await drain(from);
      const c2 = await claim(q2!, event.id);
      const again = await drain(early.cursor);
      expect(early.items).toEqual(feedGrantsFor(c1, rewards));
      expect(again.items).toEqual(feedGrantsFor(c2, rewards));

      await slow.query('commit');

      // The late commit's grant comes next, once; then nothing more.
      const late = await drain(again.cursor);
      const seen = [...early.items, ...again.items, ...late.items];
      expectOnce(seen);
      expect(late.items).toEqual([
        {
          id: slowGrant,
          userId: slowPlayer!.id,
          claimId: slowClaim,
          eventId: event.id,
          rewardId: rewards[0]!.id,
          type: 'POINT',
          name: 'Slow points',
          itemCode: null,
          quantity: 2,
          grantedAt: expect.any(String),
        },
      ]);
      expect((await feed({ token: admin.token }, { after: late.cursor })).body).toEqual({
        items: [],
        nextCursor: late.cursor,
      });
    } finally {
      await slow.end();
    }
  });

  it('goes on from a cursor of the earlier version ([tx, seq] of the last grant read)', async () => {
    const { event, rewards } = await eventWith(points(5));
    const [p1, p2] = take(2);
    const c1 = await claim(p1!, event.id);
    const c2 = await claim(p2!, event.id);
    const db = await openServiceDb(stack, 'event');
    let position: { tx: string; seq: string };
    try {
      [position] = await db.query<{ tx: string; seq: string }>(
        'select tx_id::text as tx, seq::text as seq from grants where claim_id = $1',
        [c1.id],
      );
    } finally {
      await db.close();
    }

    const rest = await drain(cursorOf([position!.tx, position!.seq]));

    expect(rest.items).toEqual(feedGrantsFor(c2, rewards));
  });

  it('never delivers a grant whose transaction rolled back', async () => {
    const { event, rewards } = await eventWith(points(4));
    const [ghost, real] = take(2);
    const from = await tail();
    const tx = new pg.Client({ connectionString: stack.databaseUrls.event });
    await tx.connect();
    try {
      await tx.query('begin');
      const claimId = randomUUID();
      await tx.query(
        `insert into claims (id, user_id, event_id, period_key, status, rewards, decided_at, decided_by)
         values ($1, $2, $3, 'ONCE', 'APPROVED', '[]', now(), 'rollback-test')`,
        [claimId, ghost!.id, event.id],
      );
      await tx.query(
        `insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity)
         values ($1, $2, $3, $4, $5, 'POINT', 'Ghost points', null, 4)`,
        [randomUUID(), ghost!.id, claimId, event.id, rewards[0]!.id],
      );
      const c = await claim(real!, event.id);
      await tx.query('rollback');
      await vi.waitFor(async () => expect((await drain(from)).items).toEqual(feedGrantsFor(c, rewards)), {
        timeout: 10_000,
        interval: 100,
      });
    } finally {
      await tx.end();
    }
  });
});
