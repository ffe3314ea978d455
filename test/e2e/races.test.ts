import { randomUUID } from 'node:crypto';
import type { Claim } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminAccount,
  createAccount,
  createAccounts,
  createApiKey,
  createEvent,
  createReward,
  errorBody,
  postActivities,
  type Account,
} from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

const READY = { type: 'ACTIVITY_COUNT', activity: 'RACE_READY', count: 1 } as const;
const ALREADY_CLAIMED = errorBody('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');

/**
 * Exactly-once under contention. The stack runs three event-service instances behind
 * the gateway, so the guarantees have to come from the database (the partial unique index and the
 * conditional stock decrement), not from anything held in one process.
 */
describe('claim races', () => {
  const instances = 3;
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let pool: Account[];
  let apiKey: string;
  const take = (n: number) => {
    if (pool.length < n) throw new Error('player pool exhausted');
    return pool.splice(0, n);
  };

  const claim = (player: Account, eventId: string, headers?: Record<string, string>) =>
    stack.client.call('createClaim', { token: player.token, params: { id: eventId }, ...(headers ? { headers } : {}) });
  const claimsOf = async (eventId: string) => {
    const res = await stack.client.call('listClaims', { token: admin.token, query: { eventId, limit: 100 } });
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return res.body.items;
  };
  const remaining = async (eventId: string) =>
    (await stack.client.call('listRewards', { token: admin.token, params: { id: eventId } })).body.items.map(
      (r) => r.remaining,
    );
  const grantsOf = async (player: Account, eventId: string) => {
    const res = await stack.client.call('myRewards', { token: player.token, query: { limit: 100 } });
    expect(res.status).toBe(200);
    return res.body.items.filter((g) => g.eventId === eventId);
  };

  beforeAll(async () => {
    stack = await startStack({ eventInstances: instances });
    expect(stack.eventUrls).toHaveLength(instances);
    admin = await adminAccount(stack);
    [operator, pool] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccounts(stack, admin.token, 34),
    ]);
    apiKey = (await createApiKey(stack, admin.token)).key;
    await postActivities(
      stack,
      apiKey,
      pool.map((p) => ({ userId: p.id, type: 'RACE_READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(`30 parallel claims by one player: one APPROVED, 29 ALREADY_CLAIMED, one grant (${instances} instance(s))`, async () => {
    const [player] = take(1);
    const event = await createEvent(stack, operator.token, READY);
    const reward = await createReward(stack, operator.token, event.id, {
      type: 'ITEM',
      name: 'Crown',
      itemCode: 'CROWN',
      quantity: 1,
      stock: 10,
    });

    const results = await Promise.all(Array.from({ length: 30 }, () => claim(player!, event.id)));
    const won = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(29);
    expect(won[0]!.body.claim).toMatchObject({
      userId: player!.id,
      eventId: event.id,
      status: 'APPROVED',
      reason: null,
    });
    for (const r of refused) expect(r.body).toEqual(ALREADY_CLAIMED);

    expect(await claimsOf(event.id)).toEqual([won[0]!.body.claim]);
    const grants = await grantsOf(player!, event.id);
    expect(grants).toEqual([
      {
        id: expect.any(String),
        userId: player!.id,
        claimId: won[0]!.body.claim.id,
        eventId: event.id,
        rewardId: reward.id,
        type: 'ITEM',
        name: 'Crown',
        itemCode: 'CROWN',
        quantity: 1,
        grantedAt: expect.any(String),
      },
    ]);
    expect(await remaining(event.id)).toEqual([9]);
  });

  it('30 parallel claims on a MANUAL event: one PENDING holding one unit, 29 ALREADY_CLAIMED', async () => {
    const [player] = take(1);
    const event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
    await createReward(stack, operator.token, event.id, { type: 'ITEM', name: 'Crown', quantity: 1, stock: 10 });
    const results = await Promise.all(Array.from({ length: 30 }, () => claim(player!, event.id)));
    expect(results.filter((r) => r.status === 201).map((r) => r.body.claim.status)).toEqual(['PENDING']);
    expect(results.filter((r) => r.status === 409)).toHaveLength(29);
    expect((await claimsOf(event.id)).map((c) => c.status)).toEqual(['PENDING']);
    expect(await remaining(event.id)).toEqual([9]);
  });

  it('stock 5 raced by 12 players: 5 APPROVED, 7 OUT_OF_STOCK, nothing left, 5 grants', async () => {
    const players = take(12);
    const event = await createEvent(stack, operator.token, READY);
    const reward = await createReward(stack, operator.token, event.id, {
      type: 'COUPON',
      name: 'Golden ticket',
      itemCode: 'GOLD',
      quantity: 1,
      stock: 5,
    });

    const results = await Promise.all(players.map((p) => claim(p, event.id)));
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(201));
    const claims = results.map((r) => r.body.claim);
    const approved = claims.filter((c) => c.status === 'APPROVED');
    const rejected = claims.filter((c) => c.status === 'REJECTED');
    expect(approved).toHaveLength(5);
    expect(rejected).toHaveLength(7);
    for (const c of approved) expect(c.reason).toBeNull();
    for (const c of rejected) expect(c).toMatchObject({ reason: 'OUT_OF_STOCK', decidedBy: 'system', note: null });
    expect(claims.map((c, i) => c.userId === players[i]!.id)).toEqual(Array(12).fill(true));

    expect(await remaining(event.id)).toEqual([0]);
    const listed = await claimsOf(event.id);
    expect(listed).toHaveLength(12);
    expect(new Map(listed.map((c) => [c.id, c]))).toEqual(new Map(claims.map((c) => [c.id, c])));

    const grants = (await Promise.all(players.map((p) => grantsOf(p, event.id)))).flat();
    expect(grants).toHaveLength(5);
    expect(grants.map((g) => g.claimId).sort()).toEqual(approved.map((c) => c.id).sort());
    for (const g of grants)
      expect(g).toMatchObject({ rewardId: reward.id, quantity: 1, type: 'COUPON', itemCode: 'GOLD' });

    // Later players keep hearing OUT_OF_STOCK; nothing is oversold.
    const [late] = take(1);
    const lateClaim = await claim(late!, event.id);
    expect(lateClaim.body.claim).toMatchObject({ status: 'REJECTED', reason: 'OUT_OF_STOCK' });
    expect(await remaining(event.id)).toEqual([0]);
  });

  it('a claim takes all of its rewards or none: a unit reserved before another reward ran out goes back', async () => {
    const players = take(6);
    const event = await createEvent(stack, operator.token, READY);
    const tickets = await createReward(stack, operator.token, event.id, {
      type: 'COUPON',
      name: 'Ticket',
      quantity: 1,
      stock: 100,
    });
    const swords = await createReward(stack, operator.token, event.id, {
      type: 'ITEM',
      name: 'Sword pair',
      itemCode: 'SWORD',
      quantity: 2,
      stock: 5,
    });
    const results = await Promise.all(players.map((p) => claim(p, event.id)));
    const claims: Claim[] = results.map((r) => r.body.claim);
    expect(claims.filter((c) => c.status === 'APPROVED')).toHaveLength(2);
    expect(claims.filter((c) => c.status === 'REJECTED' && c.reason === 'OUT_OF_STOCK')).toHaveLength(4);
    expect(await remaining(event.id)).toEqual([98, 1]);
    const grants = (await Promise.all(players.map((p) => grantsOf(p, event.id)))).flat();
    expect(grants.map((g) => g.rewardId).sort()).toEqual([tickets.id, tickets.id, swords.id, swords.id].sort());
  });

  it('10 concurrent requests with one Idempotency-Key: all 201 with one claim id, one row', async () => {
    const [player] = take(1);
    const event = await createEvent(stack, operator.token, READY);
    const key = { 'Idempotency-Key': randomUUID() };
    const results = await Promise.all(Array.from({ length: 10 }, () => claim(player!, event.id, key)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((r) => r.body.claim.id)).size).toBe(1);
    expect(await claimsOf(event.id)).toEqual([results[0]!.body.claim]);
  });

  it('a condition change racing first claims: either it lands before every claim or it is refused', async () => {
    const players = take(10);
    const event = await createEvent(stack, operator.token, READY);
    const unmet = { type: 'ACTIVITY_COUNT', activity: 'RACE_READY', count: 50 } as const;
    const claims = players.map((p) => claim(p, event.id));
    const change = stack.client.call('updateEvent', {
      token: operator.token,
      params: { id: event.id },
      body: { condition: unmet },
    });
    const [changed, ...results] = await Promise.all([change, ...claims]);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
    const outcomes = results.map((r) => `${r.body.claim.status}:${r.body.claim.reason}`);
    if (changed.status === 200) {
      // Changed before any claim was recorded: every claim was judged by the new condition.
      expect(changed.body.event.condition).toEqual(unmet);
      expect(outcomes).toEqual(Array(10).fill('REJECTED:CONDITION_NOT_MET'));
    } else {
      expect(changed.status).toBe(409);
      expect(changed.body).toEqual(
        errorBody('EVENT_LOCKED', 'Claims exist: condition can no longer change', { fields: ['condition'] }),
      );
      expect(outcomes).toEqual(Array(10).fill('APPROVED:null'));
    }
    const stored = await stack.client.call('getEvent', { token: admin.token, params: { id: event.id } });
    expect(stored.body.event).toMatchObject({ locked: true, condition: changed.status === 200 ? unmet : READY });
  });

  it('overlapping activity batches posted at once: every fact counted exactly once', async () => {
    const [player] = take(1);
    const facts = Array.from({ length: 120 }, (_, i) => ({
      id: `ping-${i}`,
      userId: player!.id,
      type: 'RACE_PING',
      // Three facts per hour: batches contend for the same counter rows.
      occurredAt: new Date(Date.now() - (i % 40) * 3_600_000 - i * 1000).toISOString(),
      value: i + 1,
    }));
    const batches = Array.from({ length: 8 }, (_, k) => {
      const batch = facts.filter((_, i) => (7 * i + k) % 3 !== 0);
      return k % 2 ? batch.reverse() : batch;
    });
    const results = await Promise.all(
      batches.map((activities) => stack.client.call('ingestActivities', { apiKey, body: { activities } })),
    );
    expect(
      results.map((r) => r.status),
      JSON.stringify(results.map((r) => r.body)),
    ).toEqual(Array(8).fill(202));
    const sent = batches.reduce((n, b) => n + b.length, 0);
    expect(results.reduce((n, r) => n + r.body.accepted, 0)).toBe(120);
    expect(results.reduce((n, r) => n + r.body.duplicates, 0)).toBe(sent - 120);

    const event = await createEvent(stack, operator.token, {
      type: 'ALL',
      of: [
        { type: 'ACTIVITY_COUNT', activity: 'RACE_PING', count: 120 },
        { type: 'ACTIVITY_SUM', activity: 'RACE_PING', sum: 7260 },
      ],
    });
    const progress = await stack.client.call('progress', { token: player!.token, params: { id: event.id } });
    expect(progress.status, JSON.stringify(progress.body)).toBe(200);
    expect(progress.body.condition).toEqual({
      type: 'ALL',
      met: true,
      of: [
        { type: 'ACTIVITY_COUNT', required: 120, current: 120, met: true },
        { type: 'ACTIVITY_SUM', required: 7260, current: 7260, met: true },
      ],
    });
  });

  it('operators deciding one pending claim at once: exactly one decision wins', async () => {
    const [player] = take(1);
    const event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
    await createReward(stack, operator.token, event.id, { type: 'ITEM', name: 'Crown', quantity: 1, stock: 3 });
    const pending = (await claim(player!, event.id)).body.claim;
    expect(await remaining(event.id)).toEqual([2]);
    const decisions = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? stack.client.call('approveClaim', { token: operator.token, params: { id: pending.id } })
          : stack.client.call('rejectClaim', {
              token: operator.token,
              params: { id: pending.id },
              body: { reason: `operator ${i}` },
            }),
      ),
    );
    const winners = decisions.filter((d) => d.status === 200);
    expect(winners).toHaveLength(1);
    for (const d of decisions.filter((x) => x.status !== 200)) {
      expect(d.status).toBe(409);
      expect(d.body.error.code).toBe('INVALID_STATE');
    }
    const final = winners[0]!.body.claim;
    const stored = await stack.client.call('getClaim', { token: admin.token, params: { id: pending.id } });
    expect(stored.body.claim).toEqual(final);
    // An approval keeps the held unit and grants once; a rejection returns the unit exactly once.
    expect(await remaining(event.id)).toEqual(final.status === 'APPROVED' ? [2] : [3]);
    expect(await grantsOf(player!, event.id)).toHaveLength(final.status === 'APPROVED' ? 1 : 0);
  });
});
