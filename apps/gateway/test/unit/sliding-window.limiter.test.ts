import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from '../../src/sliding-window.limiter.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe(SlidingWindowLimiter.name, () => {
  it('admits `limit` hits per key within the window, then answers the wait until the oldest leaves', () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter(3, 60_000, c.now);
    expect(limiter.take('a')).toBe(0);
    c.t += 10_000;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(50_000);
    expect(limiter.take('b')).toBe(0); // other keys are apart
    c.t += 49_999;
    expect(limiter.take('a')).toBe(1);
    c.t += 1; // the first hit is now exactly a window old: one slot frees
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(10_000); // the next oldest (10 s after the first) holds the window
  });

  it('slides: refused hits are not counted, so a steady caller gets a slot as each old one expires', () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter(2, 1000, c.now);
    expect([limiter.take('k'), limiter.take('k'), limiter.take('k')]).toEqual([0, 0, 1000]);
    c.t += 500;
    expect(limiter.take('k')).toBe(500);
    c.t += 500; // both first hits leave together
    expect([limiter.take('k'), limiter.take('k'), limiter.take('k')]).toEqual([0, 0, 1000]);
  });

  it('forgets keys with nothing left inside the window (bounded memory)', () => {
    const c = clock();
    const limiter = new SlidingWindowLimiter(5, 60_000, c.now);
    for (let i = 0; i < 1000; i++) limiter.take(`user-${i}`);
    expect(limiter.size).toBe(1000);
    c.t += 30_000;
    limiter.take('fresh');
    expect(limiter.size).toBe(1001);
    c.t += 30_000; // the first thousand are a window old now
    limiter.take('fresh');
    expect(limiter.size).toBe(1);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new SlidingWindowLimiter(0)).toThrow();
    expect(() => new SlidingWindowLimiter(1.5)).toThrow();
  });
});
