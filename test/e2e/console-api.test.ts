/**
 * The two API additions the console needs: per-event statistics and bulk claim decisions, through
 * the gateway, with the exact bodies and what they leave in the event service's database.
 */
import { randomUUID } from 'node:crypto';
import type { Claim, Event, Reward } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withServiceDb, type ServiceDb } from '../support/db.js';
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
import { startStack, type Stack } from '../support/stack.js';

const READY = { type: 'ACTIVITY_COUNT', activity: 'READY', count: 1 } as const;
const ZERO_REASONS = { CONDITION_NOT_MET: 0, OUT_OF_STOCK: 0, EVENT_NOT_ACTIVE: 0, REJECTED_BY_OPERATOR: 0 };
const STAFF_ONLY = errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, ADMIN');
const NOT_FOUND_CLAIM = { code: 'NOT_FOUND', message: 'Claim not found' };
const OWN_CLAIM = { code: 'FORBIDDEN', message: 'You cannot approve or reject your own claim' };
const notPending = (status: string) => ({ code: 'INVALID_STATE', message: `The claim is ${status}, not PENDING` });

describe('console API: event stats and bulk claim decisions', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  let players: Account[];
  let unready: Account;
  let apiKey: string;

  const withEventDb = <T>(fn: (db: ServiceDb) => Promise<T>) => withServiceDb(stack, 'event', fn);
  const claim = async (player: Account, eventId: string): Promise<Claim> => {
    const res = await stack.client.call('createClaim', { token: player.token, params: { id: eventId } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.claim;
  };
  const decide = (token: string, body: unknown) => stack.client.call('decideClaims', { token, body });
  const stats = (token: string, id: string) => stack.client.call('eventStats', { token, params: { id } });
  const snapshot = (rewards: Reward[]) =>
    rewards.map((r) => ({ rewardId: r.id, type: r.type, name: r.name, itemCode: r.itemCode, quantity: r.quantity }));

  beforeAll(async () => {
    stack = await startStack();
    admin = await adminAccount(stack);
    [operator, auditor] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
    ]);
    players = await createAccounts(stack, admin.token, 6);
    unready = await createAccount(stack, admin.token, { label: 'unready' });
    apiKey = (await createApiKey(stack, admin.token)).key;
    await postActivities(
      stack,
      apiKey,
      [...players, operator].map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('GET /events/{id}/stats', () => {
    it('counts claims by status and reason, distinct players, and per reward its stock and units granted', async () => {
      const event = await createEvent(stack, operator.token, READY);
      const stocked = await createReward(stack, operator.token, event.id, {
        type: 'ITEM',
        name: 'Sword',
        itemCode: 'SWORD',
        quantity: 1,
        stock: 2,
      });
      const unlimited = await createReward(stack, operator.token, event.id, {
        type: 'POINT',
        name: 'Points',
        quantity: 50,
      });

      const empty = await stats(operator.token, event.id);
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({
        eventId: event.id,
        claims: { PENDING: 0, APPROVED: 0, REJECTED: 0 },
        reasons: ZERO_REASONS,
        players: 0,
        rewards: [
          { rewardId: stocked.id, name: 'Sword', stock: 2, remaining: 2, granted: 0 },
          { rewardId: unlimited.id, name: 'Points', stock: null, remaining: null, granted: 0 },
        ],
      });

      // Two approved (the stock), one out of stock, the unready player twice (CONDITION_NOT_MET).
      const [a, b, c] = players;
      for (const p of [a!, b!, c!, unready, unready]) await claim(p, event.id);

      const expected = {
        eventId: event.id,
        claims: { PENDING: 0, APPROVED: 2, REJECTED: 3 },
        reasons: { ...ZERO_REASONS, CONDITION_NOT_MET: 2, OUT_OF_STOCK: 1 },
        players: 4,
        rewards: [
          { rewardId: stocked.id, name: 'Sword', stock: 2, remaining: 0, granted: 2 },
          { rewardId: unlimited.id, name: 'Points', stock: null, remaining: null, granted: 100 },
        ],
      };
      for (const viewer of [operator, auditor, admin]) {
        const res = await stats(viewer.token, event.id);
        expect(res.status, viewer.email).toBe(200);
        expect(res.body).toEqual(expected);
      }
      // What the database holds agrees.
      await withEventDb(async (db) => {
        expect(
          await db.query(
            'select reward_id, sum(quantity)::int as units from grants where event_id = $1 group by 1 order by 2',
            [event.id],
          ),
        ).toEqual([
          { reward_id: stocked.id, units: 2 },
          { reward_id: unlimited.id, units: 100 },
        ]);
      });
    });

    it('answers for drafts (staff see them), 404 for an unknown event, 403 for players', async () => {
      const draft = await createEvent(stack, operator.token, READY, { status: 'DRAFT' });
      const res = await stats(auditor.token, draft.id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        eventId: draft.id,
        claims: { PENDING: 0, APPROVED: 0, REJECTED: 0 },
        reasons: ZERO_REASONS,
        players: 0,
        rewards: [],
      });

      const unknown = await stats(operator.token, randomUUID());
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));

      const player = await stats(players[0]!.token, draft.id);
      expect(player.status).toBe(403);
      expect(player.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, AUDITOR, ADMIN'));

      const bad = await stats(operator.token, 'not-a-uuid');
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('POST /claims/decisions', () => {
    let event: Event;
    let reward: Reward;
    let pending: Claim[];
    let own: Claim;

    beforeAll(async () => {
      event = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
      reward = await createReward(stack, operator.token, event.id, {
        type: 'COUPON',
        name: 'Coupon',
        itemCode: 'C-1',
        quantity: 1,
        stock: 10,
      });
      pending = [];
      for (const p of players.slice(0, 5)) pending.push(await claim(p, event.id));
      own = await claim(operator, event.id);
      expect([...pending, own].map((c) => c.status)).toEqual(Array(6).fill('PENDING'));
    });

    it('approves each id through the single path, answering per id in order what the single route would', async () => {
      const [first, second] = pending;
      const unknown = randomUUID();
      const res = await decide(operator.token, {
        decision: 'APPROVE',
        ids: [first!.id, unknown, second!.id, own.id, first!.id],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const approved = (c: Claim) => ({
        ...c,
        status: 'APPROVED',
        decidedAt: expect.any(String),
        decidedBy: operator.id,
      });
      expect(res.body).toEqual({
        results: [
          { id: first!.id, status: 200, claim: approved(first!) },
          { id: unknown, status: 404, error: NOT_FOUND_CLAIM },
          { id: second!.id, status: 200, claim: approved(second!) },
          { id: own.id, status: 403, error: OWN_CLAIM },
          { id: first!.id, status: 409, error: notPending('APPROVED') },
        ],
      });
      // The same answers as the single routes give now.
      const single = await stack.client.call('approveClaim', { token: operator.token, params: { id: first!.id } });
      expect(single.status).toBe(409);
      expect(single.body.error).toEqual(notPending('APPROVED'));

      const requestId = res.headers.get('x-request-id');
      await withEventDb(async (db) => {
        expect(
          await db.query('select id, status, decided_by from claims where event_id = $1 order by id', [event.id]),
        ).toEqual(
          [...pending, own]
            .map((c) => ({
              id: c.id,
              status: c.id === first!.id || c.id === second!.id ? 'APPROVED' : 'PENDING',
              decided_by: c.id === first!.id || c.id === second!.id ? operator.id : null,
            }))
            .sort((x, y) => (x.id < y.id ? -1 : 1)),
        );
        // Grants from each claim's snapshot, once each.
        expect(
          await db.query(
            'select claim_id, user_id, reward_id, name, item_code, quantity from grants ' +
              'where event_id = $1 order by claim_id',
            [event.id],
          ),
        ).toEqual(
          [first!, second!]
            .map((c) => ({
              claim_id: c.id,
              user_id: c.userId,
              reward_id: reward.id,
              name: 'Coupon',
              item_code: 'C-1',
              quantity: 1,
            }))
            .sort((x, y) => (x.claim_id < y.claim_id ? -1 : 1)),
        );
        // One audit entry per decided claim, in order, all under the request's id; none for the refusals.
        const entries = await db.query<{ action: string; target_id: string; actor_id: string; request_id: string }>(
          'select action, target_id, actor_id, request_id from audit_log where request_id = $1 order by seq',
          [requestId],
        );
        expect(entries).toEqual([
          { action: 'claim.approve', target_id: first!.id, actor_id: operator.id, request_id: requestId },
          { action: 'claim.approve', target_id: second!.id, actor_id: operator.id, request_id: requestId },
        ]);
      });

      // The players see their rewards.
      const mine = await stack.client.call('myRewards', { token: players[0]!.token });
      expect(mine.body.items.filter((g) => g.eventId === event.id)).toEqual([
        {
          id: expect.any(String),
          userId: first!.userId,
          claimId: first!.id,
          eventId: event.id,
          rewardId: reward.id,
          type: 'COUPON',
          name: 'Coupon',
          itemCode: 'C-1',
          quantity: 1,
          grantedAt: expect.any(String),
        },
      ]);
    });

    it('rejects with the reason as the note and releases the stock; a reason is required', async () => {
      const [, , third, fourth] = pending;
      const missing = await decide(operator.token, { decision: 'REJECT', ids: [third!.id] });
      expect(missing.status).toBe(400);
      expect(missing.body).toEqual(
        validationError([{ path: 'reason', code: 'custom', message: 'a reason is required to reject' }]),
      );
      const blank = await decide(operator.token, { decision: 'REJECT', ids: [third!.id], reason: '  ' });
      expect(blank.status).toBe(400);

      const before = await stats(operator.token, event.id);
      expect(before.body.rewards).toEqual([
        { rewardId: reward.id, name: 'Coupon', stock: 10, remaining: 4, granted: 2 },
      ]);
      const res = await decide(admin.token, {
        decision: 'REJECT',
        ids: [third!.id, fourth!.id],
        reason: 'Duplicate account',
      });
      expect(res.status).toBe(200);
      const rejected = (c: Claim) => ({
        ...c,
        status: 'REJECTED',
        reason: 'REJECTED_BY_OPERATOR',
        note: 'Duplicate account',
        decidedAt: expect.any(String),
        decidedBy: admin.id,
      });
      expect(res.body).toEqual({
        results: [
          { id: third!.id, status: 200, claim: rejected(third!) },
          { id: fourth!.id, status: 200, claim: rejected(fourth!) },
        ],
      });
      // Nothing was granted for them; their units went back.
      await withEventDb(async (db) => {
        expect(
          await db.query('select id from grants where claim_id = any($1::uuid[])', [[third!.id, fourth!.id]]),
        ).toEqual([]);
        expect(
          await db.query('select action, target_id from audit_log where target_id = any($1::text[]) order by seq', [
            [third!.id, fourth!.id],
          ]),
        ).toEqual([
          { action: 'claim.reject', target_id: third!.id },
          { action: 'claim.reject', target_id: fourth!.id },
        ]);
      });
      const after = await stats(operator.token, event.id);
      expect(after.body).toEqual({
        eventId: event.id,
        claims: { PENDING: 2, APPROVED: 2, REJECTED: 2 },
        reasons: { ...ZERO_REASONS, REJECTED_BY_OPERATOR: 2 },
        players: 6,
        rewards: [{ rewardId: reward.id, name: 'Coupon', stock: 10, remaining: 6, granted: 2 }],
      });
    });

    it('validates ids (1 to 100 uuids) and the decision, and admits only operators and admins', async () => {
      const cases: [unknown, string][] = [
        [{ decision: 'APPROVE', ids: [] }, 'ids'],
        [{ decision: 'APPROVE', ids: Array.from({ length: 101 }, () => randomUUID()) }, 'ids'],
        [{ decision: 'APPROVE', ids: ['nope'] }, 'ids.0'],
        [{ decision: 'MAYBE', ids: [randomUUID()] }, 'decision'],
        [{ decision: 'APPROVE', ids: [randomUUID()], extra: 1 }, ''],
      ];
      for (const [body, path] of cases) {
        const res = await decide(operator.token, body);
        expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION_FAILED');
        expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
      }
      const hundred = await decide(operator.token, {
        decision: 'APPROVE',
        ids: Array.from({ length: 100 }, () => randomUUID()),
      });
      expect(hundred.status).toBe(200);
      expect(hundred.body.results).toHaveLength(100);
      expect(new Set(hundred.body.results.map((r) => r.status))).toEqual(new Set([404]));

      const fifth = pending[4]!;
      for (const caller of [auditor, players[5]!]) {
        const res = await decide(caller.token, { decision: 'APPROVE', ids: [fifth.id] });
        expect(res.status).toBe(403);
        expect(res.body).toEqual(STAFF_ONLY);
      }
      const still = await stack.client.call('getClaim', { token: operator.token, params: { id: fifth.id } });
      expect(still.body.claim).toEqual(fifth);
      expect(fifth.rewards).toEqual(snapshot([reward]));
    });
  });
});
