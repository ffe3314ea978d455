import type { Condition } from '@rewards/contracts';
import { Condition as ConditionSchema } from '@rewards/contracts';
import { describe, expect, it } from 'vitest';
import { evaluate, factsNeeded, type PlayerFacts } from '../../src/domain/condition-evaluator.js';

const facts = (
  daily: Record<string, [string, number, number?][]>,
  highest: Record<string, number> = {},
): PlayerFacts => ({
  daily: new Map(
    Object.entries(daily).map(([t, days]) => [t, days.map(([day, count, sum]) => ({ day, count, sum: sum ?? 0 }))]),
  ),
  highest: new Map(Object.entries(highest)),
});

describe(evaluate.name, () => {
  const logins = facts({
    LOGIN: [
      ['2026-03-01', 2],
      ['2026-03-02', 1],
      ['2026-03-04', 1],
    ],
  });

  it('measures a login streak and distinct login days', () => {
    expect(evaluate({ type: 'LOGIN_STREAK', days: 3 }, logins)).toEqual({
      type: 'LOGIN_STREAK',
      required: 3,
      current: 2,
      met: false,
    });
    expect(evaluate({ type: 'LOGIN_STREAK', days: 2 }, logins)).toEqual({
      type: 'LOGIN_STREAK',
      required: 2,
      current: 2,
      met: true,
    });
    expect(evaluate({ type: 'LOGIN_DAYS', days: 3 }, logins)).toEqual({
      type: 'LOGIN_DAYS',
      required: 3,
      current: 3,
      met: true,
    });
  });

  it('counts invites, activities and sums, and reads the highest level', () => {
    const f = facts(
      {
        INVITE_ACCEPTED: [
          ['2026-03-01', 1],
          ['2026-03-03', 1],
        ],
        QUEST_CLEARED: [['2026-03-01', 4]],
        PURCHASE: [['2026-03-02', 2, 19.5]],
      },
      { LEVEL_UP: 31 },
    );
    expect(evaluate({ type: 'INVITE_COUNT', count: 3 }, f)).toEqual({
      type: 'INVITE_COUNT',
      required: 3,
      current: 2,
      met: false,
    });
    expect(evaluate({ type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 4 }, f)).toMatchObject({
      current: 4,
      met: true,
    });
    expect(evaluate({ type: 'ACTIVITY_SUM', activity: 'PURCHASE', sum: 20 }, f)).toMatchObject({
      current: 19.5,
      met: false,
    });
    expect(evaluate({ type: 'LEVEL_REACHED', level: 30 }, f)).toEqual({
      type: 'LEVEL_REACHED',
      required: 30,
      current: 31,
      met: true,
    });
    expect(evaluate({ type: 'LEVEL_REACHED', level: 30 }, facts({}))).toMatchObject({ current: 0, met: false });
  });

  it('combines with ALL and ANY, nesting included', () => {
    const c: Condition = {
      type: 'ALL',
      of: [
        { type: 'LOGIN_DAYS', days: 1 },
        {
          type: 'ANY',
          of: [
            { type: 'LEVEL_REACHED', level: 50 },
            { type: 'LOGIN_STREAK', days: 2 },
          ],
        },
      ],
    };
    expect(evaluate(c, logins)).toEqual({
      type: 'ALL',
      met: true,
      of: [
        { type: 'LOGIN_DAYS', required: 1, current: 3, met: true },
        {
          type: 'ANY',
          met: true,
          of: [
            { type: 'LEVEL_REACHED', required: 50, current: 0, met: false },
            { type: 'LOGIN_STREAK', required: 2, current: 2, met: true },
          ],
        },
      ],
    });
    expect(
      evaluate(
        {
          type: 'ALL',
          of: [
            { type: 'LOGIN_DAYS', days: 1 },
            { type: 'LEVEL_REACHED', level: 50 },
          ],
        },
        logins,
      ).met,
    ).toBe(false);
  });
});

describe(factsNeeded.name, () => {
  it('lists the activity types a condition reads', () => {
    const needed = factsNeeded({
      type: 'ANY',
      of: [
        { type: 'LOGIN_STREAK', days: 2 },
        {
          type: 'ALL',
          of: [
            { type: 'LEVEL_REACHED', level: 3 },
            { type: 'ACTIVITY_SUM', activity: 'PURCHASE', sum: 5 },
          ],
        },
      ],
    });
    expect([...needed.windowed].sort()).toEqual(['LOGIN', 'PURCHASE']);
    expect([...needed.highest]).toEqual(['LEVEL_UP']);
  });
});

describe('Condition schema', () => {
  const nest = (depth: number): Condition =>
    depth === 1 ? { type: 'LOGIN_DAYS', days: 1 } : { type: 'ALL', of: [nest(depth - 1)] };
  it('accepts nesting up to depth 4 and refuses deeper', () => {
    expect(ConditionSchema.safeParse(nest(4)).success).toBe(true);
    expect(ConditionSchema.safeParse(nest(5)).success).toBe(false);
  });
  it('refuses more than 32 nodes, unknown types and extra fields', () => {
    const wide = {
      type: 'ANY',
      of: Array.from({ length: 10 }, () => ({
        type: 'ALL',
        of: [
          { type: 'LOGIN_DAYS', days: 1 },
          { type: 'LOGIN_DAYS', days: 2 },
          { type: 'LOGIN_DAYS', days: 3 },
        ],
      })),
    }; // 41 nodes
    expect(ConditionSchema.safeParse(wide).success).toBe(false);
    expect(ConditionSchema.safeParse({ type: 'TELEPORT', days: 1 }).success).toBe(false);
    expect(ConditionSchema.safeParse({ type: 'LOGIN_DAYS', days: 1, extra: true }).success).toBe(false);
    expect(ConditionSchema.safeParse({ type: 'ACTIVITY_COUNT', activity: 'quest', count: 1 }).success).toBe(false);
  });
});
