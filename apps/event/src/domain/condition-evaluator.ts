import type { Condition, LeafCondition, ProgressNode } from '@rewards/contracts';
import { longestStreak } from './calendar.js';

/** What the evaluator needs to know about one player, gathered without scanning their history. */
export interface PlayerFacts {
  /** Per activity type: per local day inside the event window, the count and the sum of values. */
  daily: ReadonlyMap<string, ReadonlyArray<{ day: string; count: number; sum: number }>>;
  /** Per activity type: the highest value ever recorded (LEVEL_UP → level). */
  highest: ReadonlyMap<string, number>;
}

export const LOGIN = 'LOGIN';
export const INVITE_ACCEPTED = 'INVITE_ACCEPTED';
export const LEVEL_UP = 'LEVEL_UP';

/** Activity types a condition counts inside the event window, and those it reads all-time highs of. */
export function factsNeeded(condition: Condition): { windowed: Set<string>; highest: Set<string> } {
  const windowed = new Set<string>();
  const highest = new Set<string>();
  const walk = (c: Condition) => {
    switch (c.type) {
      case 'ALL':
      case 'ANY':
        c.of.forEach(walk);
        break;
      case 'LOGIN_STREAK':
      case 'LOGIN_DAYS':
        windowed.add(LOGIN);
        break;
      case 'INVITE_COUNT':
        windowed.add(INVITE_ACCEPTED);
        break;
      case 'LEVEL_REACHED':
        highest.add(LEVEL_UP);
        break;
      case 'ACTIVITY_COUNT':
      case 'ACTIVITY_SUM':
        windowed.add(c.activity);
        break;
    }
  };
  walk(condition);
  return { windowed, highest };
}

function leaf(c: LeafCondition, facts: PlayerFacts): ProgressNode {
  const days = (type: string) => facts.daily.get(type) ?? [];
  const total = (type: string, field: 'count' | 'sum') => days(type).reduce((n, d) => n + d[field], 0);
  const node = (required: number, current: number): ProgressNode => ({
    type: c.type,
    required,
    current,
    met: current >= required,
  });
  switch (c.type) {
    case 'LOGIN_STREAK':
      return node(
        c.days,
        longestStreak(
          days(LOGIN)
            .filter((d) => d.count > 0)
            .map((d) => d.day),
        ),
      );
    case 'LOGIN_DAYS':
      return node(
        c.days,
        new Set(
          days(LOGIN)
            .filter((d) => d.count > 0)
            .map((d) => d.day),
        ).size,
      );
    case 'INVITE_COUNT':
      return node(c.count, total(INVITE_ACCEPTED, 'count'));
    case 'LEVEL_REACHED':
      return node(c.level, facts.highest.get(LEVEL_UP) ?? 0);
    case 'ACTIVITY_COUNT':
      return node(c.count, total(c.activity, 'count'));
    case 'ACTIVITY_SUM':
      return node(c.sum, total(c.activity, 'sum'));
  }
}

/** One evaluation serves both the claim decision (`met` of the root) and the progress view. */
export function evaluate(condition: Condition, facts: PlayerFacts): ProgressNode {
  if (condition.type === 'ALL' || condition.type === 'ANY') {
    const of = condition.of.map((c) => evaluate(c, facts));
    const met = condition.type === 'ALL' ? of.every((n) => n.met) : of.some((n) => n.met);
    return { type: condition.type, met, of };
  }
  return leaf(condition as LeafCondition, facts);
}
