import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminToken,
  createLoginEvent,
  inParallel,
  ingestLogins,
  requestCount,
  seedPlayers,
  withPg,
  type Player,
} from '../support/players.js';
import { startStack, type Stack } from '../support/stack.js';

const CLAIM_ROUTE = { method: 'POST', route: '/api/v1/events/:id/claims' };

/** Several event instances on one PostgreSQL database: exactly-once claims and limited stock hold across them. */
describe('claims raced across three event instances', () => {
  let stack: Stack;
  let admin: string;
  let players: Player[];

  beforeAll(async () => {
    // These tests are about outcomes under races, not latency: on a busy 2-core machine a burst of
    // 500 claims takes several seconds to drain, so the gateway's upstream budget is raised from 5 s
    // (faults.test.ts holds the default budget).
    stack = await startStack({
      eventInstances: 3,
      env: { EVENT_DB_POOL_SIZE: '8', UPSTREAM_TIMEOUT_MS: '30000', CLAIM_RATE_LIMIT_PER_MINUTE: '0' },
    });
    admin = await adminToken(stack);
    players = await seedPlayers(stack.databaseUrls.auth!, 1001, 'racer');
    await ingestLogins(
      stack,
      admin,
      players.map((p) => p.id),
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('500 parallel claims by one player: one APPROVED, 499 ALREADY_CLAIMED, one claim and one grant stored', async () => {
    const eventId = await createLoginEvent(stack, admin, { title: 'One per player' });
    const player = players[0]!;
    const t0 = performance.now();
    const responses = await Promise.all(
      Array.from({ length: 500 }, () =>
        stack.client.call('createClaim', { token: player.token, params: { id: eventId } }),
      ),
    );
    console.info(`one-player race: 500 parallel claims answered in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const byStatus = countBy(responses.map((r) => r.status));
    expect(byStatus).toEqual({ 201: 1, 409: 499 });
    const approved = responses.find((r) => r.status === 201)!;
    expect(approved.body.claim).toMatchObject({ status: 'APPROVED', userId: player.id, eventId, reason: null });
    for (const r of responses.filter((x) => x.status === 409)) {
      expect(r.body.error.code).toBe('ALREADY_CLAIMED');
      expect(typeof r.body.requestId).toBe('string');
    }

    const stored = await withPg(stack.databaseUrls.event!, async (c) => ({
      claims: (
        await c.query(`select id, status from claims where user_id = $1 and event_id = $2`, [player.id, eventId])
      ).rows,
      grants: (await c.query(`select claim_id from grants where user_id = $1 and event_id = $2`, [player.id, eventId]))
        .rows,
    }));
    expect(stored.claims).toEqual([{ id: approved.body.claim.id, status: 'APPROVED' }]);
    expect(stored.grants).toEqual([{ claim_id: approved.body.claim.id }]);
  });

  it('stock 100 raced by 1,000 players: 100 APPROVED, 900 OUT_OF_STOCK, remaining 0, 100 grants, every instance served', async () => {
    const eventId = await createLoginEvent(stack, admin, { title: 'Limited', stock: 100 });
    const racers = players.slice(1, 1001);
    const before = await Promise.all(stack.eventUrls.map((u) => requestCount(u, CLAIM_ROUTE)));

    const t0 = performance.now();
    const responses = await inParallel(200, racers, (p) =>
      stack.client.call('createClaim', { token: p.token, params: { id: eventId } }),
    );
    console.info(
      `stock race: 1,000 claims (200 in flight) answered in ${((performance.now() - t0) / 1000).toFixed(2)} s`,
    );

    const after = await Promise.all(stack.eventUrls.map((u) => requestCount(u, CLAIM_ROUTE)));
    const served = after.map((n, i) => n - before[i]!);
    console.info(`stock race: claims served per event instance ${JSON.stringify(served)}`);

    expect(countBy(responses.map((r) => r.status))).toEqual({ 201: 1000 });
    const outcomes = countBy(responses.map((r) => `${r.body.claim.status}:${r.body.claim.reason}`));
    expect(outcomes).toEqual({ 'APPROVED:null': 100, 'REJECTED:OUT_OF_STOCK': 900 });
    responses.forEach((r, i) => {
      expect(r.body.claim.userId).toBe(racers[i]!.id);
    });

    expect(served.reduce((a, b) => a + b, 0)).toBe(1000);
    for (const n of served) expect(n).toBeGreaterThan(0);

    const rewards = await stack.client.call('listRewards', { token: racers[0]!.token, params: { id: eventId } });
    expect(rewards.body.items).toEqual([expect.objectContaining({ stock: 100, remaining: 0 })]);

    const db = await withPg(stack.databaseUrls.event!, async (c) => ({
      reward: (
        await c.query(
          `select r.stock, sum(s.remaining)::int as remaining, count(*)::int as counters
           from rewards r join reward_stock s on s.reward_id = r.id where r.event_id = $1 group by r.id`,
          [eventId],
        )
      ).rows,
      claims: (
        await c.query(
          `select status, reason, count(*)::int as n from claims where event_id = $1 group by 1, 2 order by 1`,
          [eventId],
        )
      ).rows,
      grants: (
        await c.query(
          `select count(*)::int as n, count(distinct user_id)::int as users from grants where event_id = $1`,
          [eventId],
        )
      ).rows[0],
      grantsOfApproved: (
        await c.query(
          `select count(*)::int as n from grants g join claims c on c.id = g.claim_id
           where g.event_id = $1 and c.status = 'APPROVED' and c.user_id = g.user_id`,
          [eventId],
        )
      ).rows[0].n,
    }));
    // Its stock was kept on 32 counters, all spent.
    expect(db.reward).toEqual([{ stock: 100, remaining: 0, counters: 32 }]);
    expect(db.claims).toEqual([
      { status: 'APPROVED', reason: null, n: 100 },
      { status: 'REJECTED', reason: 'OUT_OF_STOCK', n: 900 },
    ]);
    expect(db.grants).toEqual({ n: 100, users: 100 });
    expect(db.grantsOfApproved).toBe(100);
  });
});

describe('the grants feed while claims race across three event instances', () => {
  let stack: Stack;
  let admin: string;
  let players: Player[];

  beforeAll(async () => {
    stack = await startStack({
      eventInstances: 3,
      env: { EVENT_DB_POOL_SIZE: '8', UPSTREAM_TIMEOUT_MS: '30000', CLAIM_RATE_LIMIT_PER_MINUTE: '0' },
    });
    admin = await adminToken(stack);
    players = await seedPlayers(stack.databaseUrls.auth, 600, 'reader');
    await ingestLogins(
      stack,
      admin,
      players.map((p) => p.id),
    );
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a reader polling during 600 claims (100 in flight, 3 instances) sees every grant exactly once', async () => {
    const key = await stack.client.call('createApiKey', {
      token: admin,
      body: { name: 'feed-reader', scopes: ['grants:read'] },
    });
    expect(key.status).toBe(201);
    const start = await stack.client.call('grantsFeed', { apiKey: key.body.key, query: { limit: 100 } });
    let cursor: string = start.body.nextCursor;
    const seen: string[] = [];
    const read = async () => {
      for (;;) {
        const page = await stack.client.call('grantsFeed', {
          apiKey: key.body.key,
          query: { after: cursor, limit: 100 },
        });
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((g: { id: string }) => g.id));
        if (page.body.items.length === 0) return;
        cursor = page.body.nextCursor;
      }
    };
    const eventId = await createLoginEvent(stack, admin, { title: 'Feed race' });
    let claiming = true;
    const reader = (async () => {
      while (claiming) {
        await read();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const responses = await inParallel(100, players, (p) =>
      stack.client.call('createClaim', { token: p.token, params: { id: eventId } }),
    );
    claiming = false;
    await reader;
    await read();

    expect(countBy(responses.map((r) => r.status))).toEqual({ 201: 600 });
    const stored = await withPg(stack.databaseUrls.event, async (c) =>
      (await c.query<{ id: string }>('select id from grants where event_id = $1', [eventId])).rows.map((r) => r.id),
    );
    expect(stored).toHaveLength(600);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...stored].sort());
  });
});

function countBy<T extends string | number>(values: T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
