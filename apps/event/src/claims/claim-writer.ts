import { Inject, Injectable } from '@nestjs/common';
import { METRICS, type Metrics } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { Histogram } from 'prom-client';
import { EVENT_CONFIG, type EventConfig } from '../config.js';
import { ClaimRepository, type ClaimWrite, type WriteOutcome } from './claim.repository.js';

/** Batches one instance has in flight at once; claims arriving meanwhile wait for the next. */
const IN_FLIGHT = 4;

interface Queued {
  w: ClaimWrite;
  resolve: (outcome: WriteOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Writes decided claims, several at a time when they arrive together: a claim that is not a rejection
 * and reserves at most one limited reward waits for the next batch, and a batch is one statement and one commit
 * (ClaimRepository.writeMany) instead of one per claim. Under light load a batch holds one claim and
 * is written by `write` itself, so nothing waits. Whatever a batch left out (a used key, a period's
 * claim already held, no stock counter free), or a batch that failed as a whole (two claims for one
 * period, a lost connection), is written claim by claim with `write`, which gives each its own outcome
 * or error: a batch changes how many statements carry the claims, never what any of them comes to.
 */
@Injectable()
export class ClaimWriter {
  private readonly max: number;
  private readonly sizes: Histogram;
  private queue: Queued[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly claims: ClaimRepository,
    @Inject(EVENT_CONFIG) config: EventConfig,
    @Inject(METRICS) metrics: Metrics,
  ) {
    this.max = config.CLAIM_WRITE_BATCH_MAX;
    this.sizes = new Histogram({
      name: 'claim_write_batch_size',
      help: 'Claims written by one statement (a batch of claims that arrived together)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [metrics.registry],
    });
  }

  write(w: ClaimWrite): Promise<WriteOutcome> {
    if (this.max === 1 || w.stock.length > 1 || w.waitForStock || w.claim.status === 'REJECTED') return this.one(w);
    return new Promise((resolve, reject) => {
      this.queue.push({ w, resolve, reject });
      this.schedule();
    });
  }

  /** The next batch goes once the claims decided in this turn of the event loop have joined it. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
        const batch = this.queue.splice(0, this.max);
        this.inFlight++;
        void this.run(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async run(batch: Queued[]): Promise<void> {
    this.sizes.observe(batch.length);
    if (batch.length === 1) return this.settle(batch[0]!);
    let outcomes: Awaited<ReturnType<ClaimRepository['writeMany']>>;
    try {
      outcomes = await this.claims.writeMany(
        this.uow.db,
        batch.map((q) => q.w),
      );
    } catch {
      // Nothing was written: each claim on its own hears its own outcome or error.
      await Promise.all(batch.map((q) => this.settle(q)));
      return;
    }
    await Promise.all(
      batch.map((q, i) => {
        const outcome = outcomes[i]!;
        if (!outcome.written && outcome.why === 'alone') return this.settle(q);
        q.resolve(outcome as WriteOutcome);
        return undefined;
      }),
    );
  }

  private settle(q: Queued): Promise<void> {
    return this.one(q.w).then(q.resolve, q.reject);
  }

  private one(w: ClaimWrite): Promise<WriteOutcome> {
    return this.claims.write(this.uow.db, w);
  }
}
