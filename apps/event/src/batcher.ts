/**
 * Gathers the calls made together into batches, the way a database gathers commits: a call waits
 * for the end of the current turn of the event loop, then goes with every call made meanwhile, at
 * most `max` at a time; while `inFlight` batches are under way the next waits for one to finish,
 * gathering more. A lone call goes alone, at once. `run` answers each item of a batch, in order.
 */
export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (err: unknown) => void }[] = [];
  private running = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<PromiseSettledResult<O>[]>,
    private readonly opts: { max: number; inFlight: number; onBatch?: (size: number) => void },
  ) {}

  add(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.opts.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.running < this.opts.inFlight && this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.max);
        this.running++;
        this.opts.onBatch?.(batch.length);
        void this.run(batch.map((q) => q.item))
          .then(
            (results) =>
              batch.forEach((q, i) => {
                const r = results[i]!;
                if (r.status === 'fulfilled') q.resolve(r.value);
                else q.reject(r.reason);
              }),
            (err: unknown) => {
              for (const q of batch) q.reject(err);
            },
          )
          .finally(() => {
            this.running--;
            this.schedule();
          });
      }
    });
  }
}
