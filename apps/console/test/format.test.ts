import { describe, expect, it } from 'vitest';
import { isoToZoned, toCsv, zonedToIso } from '../src/format';
import { diff } from '../src/components/diff';

describe('times in a zone', () => {
  it('reads a wall-clock time in the event zone, across daylight saving changes', () => {
    expect(zonedToIso('2026-12-01T09:30', 'Asia/Seoul')).toBe('2026-12-01T09:30:00+09:00');
    expect(zonedToIso('2026-01-15T08:00', 'America/New_York')).toBe('2026-01-15T08:00:00-05:00');
    expect(zonedToIso('2026-07-15T08:00', 'America/New_York')).toBe('2026-07-15T08:00:00-04:00');
    expect(zonedToIso('2026-07-15T08:00', 'Asia/Kathmandu')).toBe('2026-07-15T08:00:00+05:45');
    expect(zonedToIso('2026-07-15T08:00', 'America/St_Johns')).toBe('2026-07-15T08:00:00-02:30');
    expect(zonedToIso('', 'UTC')).toBeUndefined();
  });

  it('shows an instant as the wall-clock time of a zone', () => {
    expect(isoToZoned('2026-12-01T00:30:00Z', 'Asia/Seoul')).toBe('2026-12-01T09:30');
    expect(isoToZoned('2026-07-15T12:00:00Z', 'America/New_York')).toBe('2026-07-15T08:00');
    for (const zone of ['Asia/Seoul', 'Europe/Berlin', 'America/Los_Angeles']) {
      expect(Date.parse(zonedToIso(isoToZoned('2026-03-29T01:30:00Z', zone), zone)!)).toBe(
        Date.parse('2026-03-29T01:30:00Z'),
      );
    }
  });
});

describe('CSV and diffs', () => {
  it('quotes what needs quoting', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 'say "hi"'],
          [null, 3],
        ],
      ),
    ).toBe('a,b\r\n"x,y","say ""hi"""\r\n,3');
  });

  it('lists every field of either side with what happened to it', () => {
    expect(
      diff(
        { status: 'PENDING', note: null, rewards: [{ q: 1 }] },
        { status: 'APPROVED', rewards: [{ q: 1 }], by: 'op' },
      ),
    ).toEqual([
      { path: 'status', before: 'PENDING', after: 'APPROVED', change: 'changed' },
      { path: 'note', before: null, after: undefined, change: 'removed' },
      { path: 'rewards.0.q', before: 1, after: 1, change: 'same' },
      { path: 'by', before: undefined, after: 'op', change: 'added' },
    ]);
    expect(diff(null, { a: 1 })).toEqual([{ path: 'a', before: undefined, after: 1, change: 'added' }]);
  });
});
