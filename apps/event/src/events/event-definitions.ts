import { Injectable } from '@nestjs/common';
import type { Db } from '@rewards/infrastructure/persistence';
import type { EventRow, RewardRow } from '../schema.js';
import { EventRepository } from './event.repository.js';

export interface EventDefinition {
  event: EventRow;
  rewards: RewardRow[];
}

/** Events kept per instance; past this the least recently read one goes. */
const CAPACITY = 10_000;

/**
 * The event and rewards each claim is decided on, kept in this instance instead of read per claim.
 * A kept definition may be stale (another instance changed the event): the claim's write checks the
 * version it was read at (`claim_guard`, 0006) and a claim decided on a stale one is decided again
 * on a fresh read, so staleness costs a round trip, never a wrong claim. Unknown ids are not kept.
 */
@Injectable()
export class EventDefinitions {
  private readonly kept = new Map<string, EventDefinition>();

  constructor(private readonly events: EventRepository) {}

  async get(db: Db, eventId: string): Promise<EventDefinition | undefined> {
    const kept = this.kept.get(eventId);
    if (kept) {
      // Most recently used last: Map keeps insertion order.
      this.kept.delete(eventId);
      this.kept.set(eventId, kept);
      return kept;
    }
    return this.read(db, eventId);
  }

  /** A fresh read from the database, kept for the next claims. */
  async read(db: Db, eventId: string): Promise<EventDefinition | undefined> {
    const found = await this.events.withRewards(db, eventId);
    this.kept.delete(eventId);
    if (!found) return undefined;
    this.kept.set(eventId, found);
    if (this.kept.size > CAPACITY) this.kept.delete(this.kept.keys().next().value!);
    return found;
  }

  /** After a change made here: the next claim reads the event again. */
  forget(eventId: string): void {
    this.kept.delete(eventId);
  }
}
