import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Batcher } from '../../src/batcher.js';

/** Past the turns a finished batch takes to start the next. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 10));

/** A batch run that waits until released, recording every batch it was given. */
function gate() {
  const batches: number[][] = [];
  const waiting: (() => void)[] = [];
  const run = async (items: number[]): Promise<PromiseSettledResult<number>[]> => {
    batches.push(items);
    await new Promise<void>((release) => waiting.push(release));
    return items.map((n) =>
      n < 0 ? { status: 'rejected', reason: new Error(`refused ${n}`) } : { status: 'fulfilled', value: n * 10 },
    );
  };
  const releaseAll = () => {
    for (const release of waiting.splice(0)) release();
  };
  return { batches, run, releaseAll };
}

describe(Batcher.name, () => {
  it('sends a lone call alone, then everything called while it ran as one batch', async () => {
    const g = gate();
    const b = new Batcher(g.run, { max: 10, inFlight: 1 });
    const first = b.add(1);
    await nextTurn();
    const rest = [b.add(2), b.add(3), b.add(4)];
    await nextTurn();
    expect(g.batches).toEqual([[1]]);
    g.releaseAll();
    expect(await first).toBe(10);
    await settled();
    expect(g.batches).toEqual([[1], [2, 3, 4]]);
    g.releaseAll();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
  });

  it('gathers the calls of one turn, at most `max` a batch and `inFlight` batches at once', async () => {
    const g = gate();
    const sizes: number[] = [];
    const b = new Batcher(g.run, { max: 3, inFlight: 2, onBatch: (n) => sizes.push(n) });
    const all = Array.from({ length: 8 }, (_, i) => b.add(i));
    await nextTurn();
    expect(g.batches).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    g.releaseAll();
    await settled();
    expect(g.batches.slice(2)).toEqual([[6, 7]]);
    g.releaseAll();
    expect(await Promise.all(all)).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
    expect(sizes).toEqual([3, 3, 2]);
  });

  it('answers each call with its own outcome, and every call of a batch whose run fails with that failure', async () => {
    const g = gate();
    const b = new Batcher(g.run, { max: 10, inFlight: 1 });
    const settled = Promise.allSettled([b.add(1), b.add(-2), b.add(3)]);
    await nextTurn();
    g.releaseAll();
    expect((await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([
      10,
      'refused -2',
      30,
    ]);

    const broken = new Batcher<number, number>(() => Promise.reject(new Error('down')), { max: 10, inFlight: 1 });
    const failed = await Promise.allSettled([broken.add(1), broken.add(2)]);
    expect(failed.map((s) => s.status === 'rejected' && (s.reason as Error).message)).toEqual(['down', 'down']);
    // The batcher goes on after a failed batch.
    const after = new Batcher<number, number>(
      async (items) => items.map((n) => ({ status: 'fulfilled' as const, value: n })),
      { max: 10, inFlight: 1 },
    );
    expect(await after.add(7)).toBe(7);
  });
});
