import { describe, expect, it } from 'vitest';
import {
  byRewardId,
  type ClaimableEvent,
  type ClaimableReward,
  claimOf,
  decideClaim,
  needsFacts,
  outOfStock,
} from '../../src/domain/claim-decision.js';
import type { PlayerFacts } from '../../src/domain/condition-evaluator.js';

const event = (over: Partial<ClaimableEvent> = {}): ClaimableEvent => ({
  status: 'ACTIVE',
  startsAt: new Date('2026-03-01T00:00:00Z'),
  endsAt: new Date('2026-04-01T00:00:00Z'),
  timezone: 'Asia/Seoul',
  condition: { type: 'LOGIN_DAYS', days: 2 },
  approval: 'AUTO',
  repeat: 'NONE',
  ...over,
});

const reward = (id: string, stock: number | null, quantity = 1): ClaimableReward => ({
  id,
  type: 'ITEM',
  name: `Reward ${id.slice(0, 4)}`,
  itemCode: stock === null ? null : 'SKU-1',
  quantity,
  stock,
});

const A = 'aaaaaaaa-0000-4000-8000-000000000000';
const B = 'bbbbbbbb-0000-4000-8000-000000000000';
const C = 'cccccccc-0000-4000-8000-000000000000';

const logins = (days: string[]): PlayerFacts => ({
  daily: new Map([['LOGIN', days.map((day) => ({ day, count: 1, sum: 0 }))]]),
  highest: new Map(),
});

const now = new Date('2026-03-10T12:00:00Z');
const met = logins(['2026-03-08', '2026-03-09']);

describe(decideClaim.name, () => {
  it('approves an AUTO event whose condition is met, with the snapshot and the limited rewards to reserve in id order', () => {
    const rewards = [reward(C, 100, 2), reward(A, null), reward(B, 5)];
    expect(decideClaim(event(), rewards, met, now)).toEqual({
      status: 'APPROVED',
      reason: null,
      periodKey: 'ONCE',
      rewards: rewards.map((r) => ({
        rewardId: r.id,
        type: r.type,
        name: r.name,
        itemCode: r.itemCode,
        quantity: r.quantity,
      })),
      stock: [
        { rewardId: B, quantity: 1 },
        { rewardId: C, quantity: 2 },
      ],
    });
  });

  it('leaves a MANUAL event’s claim pending, still reserving its units', () => {
    const d = decideClaim(event({ approval: 'MANUAL' }), [reward(A, 3)], met, now);
    expect(d).toMatchObject({ status: 'PENDING', reason: null, stock: [{ rewardId: A, quantity: 1 }] });
  });

  it('rejects CONDITION_NOT_MET and reserves nothing', () => {
    const d = decideClaim(event(), [reward(A, 3)], logins(['2026-03-09']), now);
    expect(d).toMatchObject({ status: 'REJECTED', reason: 'CONDITION_NOT_MET', stock: [] });
    expect(d.rewards).toHaveLength(1);
  });

  it.each([
    ['a draft', event({ status: 'DRAFT' }), now],
    ['a paused event', event({ status: 'PAUSED' }), now],
    ['an ended event', event({ status: 'ENDED' }), now],
    ['before its start', event(), new Date('2026-02-28T23:59:59.999Z')],
    ['at its end', event(), new Date('2026-04-01T00:00:00Z')],
  ])('rejects EVENT_NOT_ACTIVE for %s, without reading facts', (_, e, at) => {
    expect(needsFacts(e, at)).toBe(false);
    expect(decideClaim(e, [reward(A, 3)], undefined, at)).toMatchObject({
      status: 'REJECTED',
      reason: 'EVENT_NOT_ACTIVE',
      stock: [],
    });
  });

  it('needs the facts of an open event', () => {
    expect(needsFacts(event(), now)).toBe(true);
    expect(() => decideClaim(event(), [], undefined, now)).toThrow(/facts/);
  });

  it('keys repeating claims by the local day or ISO week of the event’s zone', () => {
    // 2026-03-10T20:00Z is already 2026-03-11 in Seoul (UTC+9), and 2026-03-10 in Los Angeles.
    const at = new Date('2026-03-10T20:00:00Z');
    expect(decideClaim(event({ repeat: 'DAILY' }), [], met, at).periodKey).toBe('2026-03-11');
    expect(decideClaim(event({ repeat: 'DAILY', timezone: 'America/Los_Angeles' }), [], met, at).periodKey).toBe(
      '2026-03-10',
    );
    expect(decideClaim(event({ repeat: 'WEEKLY' }), [], met, at).periodKey).toBe('2026-W11');
  });
});

describe(outOfStock.name, () => {
  it('turns an approval into an OUT_OF_STOCK rejection that reserves nothing and keeps the snapshot', () => {
    const d = decideClaim(event(), [reward(A, 1)], met, now);
    expect(outOfStock(d)).toEqual({ ...d, status: 'REJECTED', reason: 'OUT_OF_STOCK', stock: [] });
  });
});

describe(claimOf.name, () => {
  const ids = { id: C, eventId: A, userId: B, now };
  it('writes a decided claim as decided by the system at that instant, a pending one as undecided', () => {
    const approved = decideClaim(event(), [reward(A, 1)], met, now);
    expect(claimOf(approved, ids)).toEqual({
      id: C,
      eventId: A,
      userId: B,
      periodKey: 'ONCE',
      status: 'APPROVED',
      reason: null,
      note: null,
      rewards: approved.rewards,
      createdAt: now.toISOString(),
      decidedAt: now.toISOString(),
      decidedBy: 'system',
    });
    expect(claimOf(outOfStock(approved), ids)).toMatchObject({
      status: 'REJECTED',
      reason: 'OUT_OF_STOCK',
      decidedBy: 'system',
    });
    const pending = decideClaim(event({ approval: 'MANUAL' }), [], met, now);
    expect(claimOf(pending, ids)).toMatchObject({ status: 'PENDING', decidedAt: null, decidedBy: null });
  });
});

describe('byRewardId', () => {
  it('orders by reward id', () => {
    expect([{ rewardId: C }, { rewardId: A }, { rewardId: B }].sort(byRewardId)).toEqual([
      { rewardId: A },
      { rewardId: B },
      { rewardId: C },
    ]);
  });
});
