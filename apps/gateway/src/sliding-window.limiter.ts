/**
 * An exact sliding-window limit per key, in memory (one gateway process): at most `limit` hits
 * within any `windowMs`. Memory stays bounded: a key holds at most `limit` timestamps, and keys
 * with nothing inside the window are swept out once per window.
 */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private lastSweep: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, not ${limit}`);
    this.lastSweep = now();
  }

  /**
   * Counts a hit for `key` and returns 0, or, when the key is at its limit, counts nothing and
   * returns the milliseconds until its oldest hit leaves the window.
   */
  take(key: string): number {
    const now = this.now();
    const cutoff = now - this.windowMs;
    if (now - this.lastSweep >= this.windowMs) this.sweep(now, cutoff);
    let times = this.hits.get(key);
    if (!times) {
      times = [];
      this.hits.set(key, times);
    }
    let expired = 0;
    while (expired < times.length && times[expired]! <= cutoff) expired++;
    if (expired > 0) times.splice(0, expired);
    if (times.length >= this.limit) return Math.max(1, times[0]! - cutoff);
    times.push(now);
    return 0;
  }

  /** Keys currently held (for tests and metrics). */
  get size(): number {
    return this.hits.size;
  }

  private sweep(now: number, cutoff: number): void {
    this.lastSweep = now;
    for (const [key, times] of this.hits)
      if (times.length === 0 || times[times.length - 1]! <= cutoff) this.hits.delete(key);
  }
}
