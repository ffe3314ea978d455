import { Inject, Injectable } from '@nestjs/common';
import { METRICS, type Metrics } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { Histogram } from 'prom-client';
import { ActivityRepository } from '../activities/activity.repository.js';
import { Batcher } from '../batcher.js';
import { factsNeeded, type PlayerFacts } from '../domain/condition-evaluator.js';
import type { EventRow } from '../schema.js';

/** Players whose facts one statement reads at most (claims on one event decided together). */
const READS_MAX = 64;
/** Reads one instance has in flight at once; reads arriving meanwhile wait for the next. */
const IN_FLIGHT = 4;

interface FactsRead {
  userId: string;
  event: EventRow;
}

/**
 * Reads the facts a claim is decided on, with those of the other claims that arrived together (see
 * Batcher): one statement per event among them (ActivityRepository.factsOf), each reading all of
 * that event's players, instead of one per claim. A lone read goes alone, at once.
 */
@Injectable()
export class FactsReader {
  private readonly reads: Batcher<FactsRead, PlayerFacts>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly activities: ActivityRepository,
    @Inject(METRICS) metrics: Metrics,
  ) {
    const sizes = new Histogram({
      name: 'claim_facts_read_batch_size',
      help: 'Claims whose facts one batch of reads carried (one statement per event among them)',
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers: [metrics.registry],
    });
    this.reads = new Batcher((reads) => this.readTogether(reads), {
      max: READS_MAX,
      inFlight: IN_FLIGHT,
      onBatch: (n) => sizes.observe(n),
    });
  }

  /** The player's facts for the event's condition. */
  read(userId: string, event: EventRow): Promise<PlayerFacts> {
    return this.reads.add({ userId, event });
  }

  private readTogether(reads: FactsRead[]): Promise<PromiseSettledResult<PlayerFacts>[]> {
    const byEvent = new Map<string, { event: EventRow; userIds: Set<string> }>();
    for (const { userId, event } of reads) {
      const key = `${event.id} ${event.version}`;
      const group = byEvent.get(key) ?? { event, userIds: new Set() };
      group.userIds.add(userId);
      byEvent.set(key, group);
    }
    const groups = new Map(
      [...byEvent].map(([key, { event, userIds }]) => [
        key,
        this.activities.factsOf(
          this.uow.db,
          [...userIds],
          { start: event.startsAt, end: event.endsAt, timeZone: event.timezone },
          factsNeeded(event.condition),
        ),
      ]),
    );
    return Promise.allSettled(
      reads.map(
        async ({ userId, event }) => (await groups.get(`${event.id} ${event.version}`)!).get(userId.toLowerCase())!,
      ),
    );
  }
}
