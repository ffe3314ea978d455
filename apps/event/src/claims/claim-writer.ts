import { Inject, Injectable } from '@nestjs/common';
import { METRICS, type Metrics } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { Histogram } from 'prom-client';
import { Batcher } from '../batcher.js';
import { EVENT_CONFIG, type EventConfig } from '../config.js';
import { ClaimRepository, type ClaimWrite, type WriteOutcome } from './claim.repository.js';

/** Batches one instance has in flight at once; claims arriving meanwhile wait for the next. */
const IN_FLIGHT = 4;

/**
 * Writes decided claims, several at a time when they arrive together: a claim that is not a
 * rejection and reserves at most one limited reward waits for the next batch (see Batcher), and a
 * batch is one statement and one commit (ClaimRepository.writeMany) instead of one per claim. Under
 * light load a batch holds one claim and is written by `write` itself, so nothing waits. Whatever a
 * batch left out (a used key, a period's claim already held, no stock counter free), or a batch that
 * failed as a whole (two claims for one period, a lost connection), is written claim by claim with
 * `write`, which gives each its own outcome or error: a batch changes how many statements carry the
 * claims, never what any of them comes to.
 */
@Injectable()
export class ClaimWriter {
  private readonly batches: Batcher<ClaimWrite, WriteOutcome>;
  private readonly unbatched: boolean;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly claims: ClaimRepository,
    @Inject(EVENT_CONFIG) config: Pick<EventConfig, 'CLAIM_WRITE_BATCH_MAX'>,
    @Inject(METRICS) metrics: Metrics,
  ) {
    const sizes = new Histogram({
      name: 'claim_write_batch_size',
      help: 'Claims written by one statement (a batch of claims that arrived together)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [metrics.registry],
    });
    this.unbatched = config.CLAIM_WRITE_BATCH_MAX === 1;
    this.batches = new Batcher((ws) => this.writeTogether(ws), {
      max: config.CLAIM_WRITE_BATCH_MAX,
      inFlight: IN_FLIGHT,
      onBatch: (n) => sizes.observe(n),
    });
  }

  write(w: ClaimWrite): Promise<WriteOutcome> {
    if (this.unbatched || w.stock.length > 1 || w.waitForStock || w.claim.status === 'REJECTED') return this.one(w);
    return this.batches.add(w);
  }

  private async writeTogether(ws: ClaimWrite[]): Promise<PromiseSettledResult<WriteOutcome>[]> {
    if (ws.length === 1) return Promise.allSettled([this.one(ws[0]!)]);
    // Nothing was written when the statement failed: each claim on its own hears its own outcome or error.
    const outcomes = await this.claims.writeMany(this.uow.db, ws).catch(() => undefined);
    return Promise.allSettled(
      ws.map((w, i) => {
        const outcome = outcomes?.[i];
        if (outcome === undefined || (!outcome.written && outcome.why === 'alone')) return this.one(w);
        return Promise.resolve(outcome as WriteOutcome);
      }),
    );
  }

  private one(w: ClaimWrite): Promise<WriteOutcome> {
    return this.claims.write(this.uow.db, w);
  }
}
