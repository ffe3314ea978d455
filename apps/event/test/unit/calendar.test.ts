import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  bucketFloor,
  isoWeek,
  localDate,
  longestStreak,
  periodKey,
  planWindow,
  startOfLocalDay,
} from '../../src/domain/calendar.js';

// Zones with daylight-saving changes (and a half-hour and a 45-minute offset) next to fixed ones.
const ZONES = [
  'Asia/Seoul',
  'UTC',
  'America/New_York',
  'Europe/London',
  'Australia/Adelaide',
  'Asia/Kathmandu',
  'America/Santiago',
  'Pacific/Chatham',
];
const zone = fc.constantFrom(...ZONES);
const instant = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2040-01-01T00:00:00Z'),
  noInvalidDate: true,
});
const day = fc.integer({ min: 0, max: 15_000 }).map((n) => addDays('2000-01-01', n));

describe('localDate', () => {
  it('gives the date a wall clock in the zone shows', () => {
    expect(localDate(new Date('2026-03-08T06:59:59Z'), 'America/New_York')).toBe('2026-03-08');
    expect(localDate(new Date('2026-01-01T14:59:59Z'), 'Asia/Seoul')).toBe('2026-01-01');
    expect(localDate(new Date('2026-01-01T15:00:00Z'), 'Asia/Seoul')).toBe('2026-01-02');
  });

  it('never moves backwards as time moves forwards, even across DST changes', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 3 * 86_400_000 }), zone, (t, delta, tz) => {
        expect(localDate(new Date(t.getTime() + delta), tz) >= localDate(t, tz)).toBe(true);
      }),
    );
  });

  it('advances by one calendar day per 23 to 25 hours, DST included', () => {
    fc.assert(
      fc.property(instant, zone, (t, tz) => {
        const d = localDate(t, tz);
        const next = localDate(new Date(t.getTime() + 26 * 3_600_000), tz);
        expect([addDays(d, 1), addDays(d, 2)]).toContain(next);
        const within = localDate(new Date(t.getTime() + 22 * 3_600_000), tz);
        expect([d, addDays(d, 1)]).toContain(within);
      }),
    );
  });

  it('is the same for every instant of a 15-minute bucket (counters never straddle a local midnight)', () => {
    fc.assert(
      fc.property(instant, zone, (t, tz) => {
        expect(localDate(bucketFloor(t), tz)).toBe(localDate(t, tz));
      }),
    );
  });
});

describe('addDays', () => {
  it('is invertible and steps one calendar day at a time', () => {
    fc.assert(
      fc.property(day, fc.integer({ min: -400, max: 400 }), (d, n) => {
        expect(addDays(addDays(d, n), -n)).toBe(d);
        expect(addDays(d, 1) > d).toBe(true);
      }),
    );
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
  });
});

describe('longestStreak', () => {
  it('counts consecutive calendar days', () => {
    expect(longestStreak([])).toBe(0);
    expect(longestStreak(['2026-03-07', '2026-03-08', '2026-03-09'])).toBe(3);
    expect(longestStreak(['2026-03-07', '2026-03-09'])).toBe(1);
    expect(longestStreak(['2026-12-31', '2027-01-01', '2026-12-30', '2026-12-30'])).toBe(3);
  });

  it('finds a run of n days placed anywhere among others', () => {
    fc.assert(
      fc.property(
        day,
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 30 }),
        (start, n, noise) => {
          const run = Array.from({ length: n }, (_, i) => addDays(start, i));
          // Noise days keep a gap of at least two from the run, so they cannot extend it.
          const others = noise.map((k) => addDays(start, n + 1 + k));
          expect(longestStreak([...others, ...run])).toBeGreaterThanOrEqual(n);
          expect(longestStreak(run)).toBe(n);
        },
      ),
    );
  });

  it('is exact across a DST change: three local days in New York around 8 March 2026', () => {
    const logins = ['2026-03-07T15:00:00Z', '2026-03-08T15:00:00Z', '2026-03-09T15:00:00Z'].map((s) =>
      localDate(new Date(s), 'America/New_York'),
    );
    expect(longestStreak(logins)).toBe(3);
  });
});

describe('isoWeek and periodKey', () => {
  it('follows ISO-8601 weeks', () => {
    expect(isoWeek('2026-01-01')).toBe('2026-W01');
    expect(isoWeek('2027-01-01')).toBe('2026-W53');
    expect(isoWeek('2024-12-30')).toBe('2025-W01');
    expect(isoWeek('2026-11-23')).toBe('2026-W48');
    expect(isoWeek('2026-11-29')).toBe('2026-W48');
  });

  it('gives the same week to the seven days from a Monday and a new one after', () => {
    fc.assert(
      fc.property(day, (d) => {
        const weekday = (new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7;
        const monday = addDays(d, -weekday);
        for (let i = 0; i < 7; i++) expect(isoWeek(addDays(monday, i))).toBe(isoWeek(monday));
        expect(isoWeek(addDays(monday, 7))).not.toBe(isoWeek(monday));
      }),
    );
  });

  it('keys claims by period in the event zone', () => {
    const t = new Date('2026-11-24T16:30:00Z'); // 01:30 on the 25th in Seoul
    expect(periodKey('NONE', t, 'Asia/Seoul')).toBe('ONCE');
    expect(periodKey('DAILY', t, 'Asia/Seoul')).toBe('2026-11-25');
    expect(periodKey('DAILY', t, 'UTC')).toBe('2026-11-24');
    expect(periodKey('WEEKLY', t, 'Asia/Seoul')).toBe('2026-W48');
  });
});

describe('startOfLocalDay', () => {
  it('is the first instant whose local date is the day', () => {
    fc.assert(
      fc.property(day, zone, (d, tz) => {
        const t = startOfLocalDay(d, tz);
        expect(localDate(t, tz)).toBe(d);
        expect(localDate(new Date(t.getTime() - 1), tz) < d).toBe(true);
      }),
    );
    expect(startOfLocalDay('2026-11-25', 'Asia/Seoul').toISOString()).toBe('2026-11-24T15:00:00.000Z');
    expect(startOfLocalDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(startOfLocalDay('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
  });
});

describe('planWindow', () => {
  it('covers [start, end) exactly once with whole days and partial ranges', () => {
    fc.assert(
      fc.property(
        instant,
        fc.integer({ min: 1, max: 40 * 86_400_000 }),
        zone,
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 20 }),
        (start, length, tz, probes) => {
          const end = new Date(start.getTime() + length);
          const plan = planWindow(start, end, tz);
          for (const r of plan.partial) expect(r.start < r.end).toBe(true);
          const covered = (t: Date) =>
            plan.partial.filter((r) => t >= r.start && t < r.end).length +
            (plan.fullDays && localDate(t, tz) >= plan.fullDays.from && localDate(t, tz) < plan.fullDays.to ? 1 : 0);
          for (const p of [0, length - 1, ...probes.map((x) => Math.floor((x / 1_000_000) * (length - 1)))]) {
            expect(covered(new Date(start.getTime() + p))).toBe(1);
          }
          expect(covered(new Date(start.getTime() - 1))).toBe(0);
          expect(covered(end)).toBe(0);
        },
      ),
    );
  });

  it('reads an event from local midnight to local midnight as whole days only', () => {
    const start = startOfLocalDay('2026-12-01', 'Asia/Seoul');
    const end = startOfLocalDay('2026-12-08', 'Asia/Seoul');
    expect(planWindow(start, end, 'Asia/Seoul')).toEqual({
      fullDays: { from: '2026-12-01', to: '2026-12-08' },
      partial: [],
    });
  });
});
