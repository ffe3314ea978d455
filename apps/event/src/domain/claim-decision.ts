import type {
  Approval,
  Claim,
  ClaimReason,
  Condition,
  EventStatus,
  Repeat,
  RewardSnapshot,
  RewardType,
} from '@rewards/contracts';
import type { z } from 'zod';
import { periodKey } from './calendar.js';
import { evaluate, type PlayerFacts } from './condition-evaluator.js';
import { isOpen } from './event-status.js';

/** What a claim is decided on: the event's frozen definition and its rewards. */
export interface ClaimableEvent {
  status: EventStatus;
  startsAt: Date;
  endsAt: Date;
  timezone: string;
  condition: Condition;
  approval: z.infer<typeof Approval>;
  repeat: z.infer<typeof Repeat>;
}

export interface ClaimableReward {
  id: string;
  type: z.infer<typeof RewardType>;
  name: string;
  itemCode: string | null;
  quantity: number;
  /** Null when unlimited. */
  stock: number | null;
}

/** Units a claim must reserve before it is written, one entry per limited reward. */
export interface StockNeed {
  rewardId: string;
  quantity: number;
}

export type ClaimDecision =
  | {
      status: 'APPROVED' | 'PENDING';
      reason: null;
      periodKey: string;
      rewards: RewardSnapshot[];
      /** Reserved in the claim's write; when any is short the claim is rejected OUT_OF_STOCK instead. */
      stock: StockNeed[];
    }
  | { status: 'REJECTED'; reason: ClaimReason; periodKey: string; rewards: RewardSnapshot[]; stock: [] };

/** The order claims lock limited rewards' stock counters in, and anything else that locks them must too. */
export const byRewardId = (a: { rewardId: string }, b: { rewardId: string }): number =>
  a.rewardId < b.rewardId ? -1 : a.rewardId > b.rewardId ? 1 : 0;

/** Whether deciding needs the player's facts: only an open event evaluates its condition. */
export const needsFacts = (event: ClaimableEvent, now: Date): boolean => isOpen(event, now);

/**
 * A claim attempt's outcome, before stock: rejected when the event is not open (EVENT_NOT_ACTIVE) or
 * the condition is not met (CONDITION_NOT_MET), else approved (AUTO) or pending (MANUAL) with the
 * limited rewards it must reserve. The snapshot is what the claim's grants are written from.
 * `facts` may be omitted only when `needsFacts` is false.
 */
export function decideClaim(
  event: ClaimableEvent,
  rewards: readonly ClaimableReward[],
  facts: PlayerFacts | undefined,
  now: Date,
): ClaimDecision {
  const base = {
    periodKey: periodKey(event.repeat, now, event.timezone),
    rewards: rewards.map((r) => ({
      rewardId: r.id,
      type: r.type,
      name: r.name,
      itemCode: r.itemCode,
      quantity: r.quantity,
    })),
  };
  if (!isOpen(event, now)) return { ...base, status: 'REJECTED', reason: 'EVENT_NOT_ACTIVE', stock: [] };
  if (!facts) throw new Error('decideClaim: an open event needs the player’s facts');
  if (!evaluate(event.condition, facts).met)
    return { ...base, status: 'REJECTED', reason: 'CONDITION_NOT_MET', stock: [] };
  return {
    ...base,
    status: event.approval === 'AUTO' ? 'APPROVED' : 'PENDING',
    reason: null,
    // In id order: claims reserving several rewards lock their counters in one order.
    stock: rewards
      .filter((r) => r.stock !== null)
      .map((r) => ({ rewardId: r.id, quantity: r.quantity }))
      .sort(byRewardId),
  };
}

/** The same decision once stock ran short: the claim is recorded, rejected, and reserves nothing. */
export const outOfStock = (d: ClaimDecision): ClaimDecision => ({
  ...d,
  status: 'REJECTED',
  reason: 'OUT_OF_STOCK',
  stock: [],
});

/** The claim a decision writes, as the API shows it: decided by the system unless it is pending. */
export function claimOf(d: ClaimDecision, c: { id: string; eventId: string; userId: string; now: Date }): Claim {
  const decided = d.status !== 'PENDING';
  return {
    id: c.id,
    eventId: c.eventId,
    userId: c.userId,
    periodKey: d.periodKey,
    status: d.status,
    reason: d.reason,
    note: null,
    rewards: d.rewards,
    createdAt: c.now.toISOString(),
    decidedAt: decided ? c.now.toISOString() : null,
    decidedBy: decided ? 'system' : null,
  };
}
