import { Injectable } from '@nestjs/common';
import type { AuditRecord, PlatformActivitiesBody } from '@rewards/contracts';
import { type Db } from '@rewards/infrastructure/persistence';
import { and, asc, gt, inArray, isNotNull, isNull, lt, lte, type SQL, sql } from 'drizzle-orm';
import { outbox } from '../schema.js';

/** The facts auth records itself, in the shape the event service's platform-activity route takes. */
export type ActivityMessage = PlatformActivitiesBody['activities'][number] & { type: 'LOGIN' | 'INVITE_ACCEPTED' };

/** Audit entries travel in the contract's shape, so the event service's validation and this writer agree. */
export type AuditMessage = AuditRecord;

/**
 * The outbox table: messages written in the transaction of the change they describe, then leased,
 * delivered and marked by the relay (see OutboxRelay).
 */
@Injectable()
export class OutboxRepository {
  async addActivity(tx: Db, message: ActivityMessage): Promise<void> {
    await tx.insert(outbox).values({ topic: 'activity', payload: message });
  }

  /** `addActivity` as a statement to run inside another one. */
  addingActivity(message: ActivityMessage): SQL {
    return sql`insert into ${outbox} (topic, payload) values ('activity', ${JSON.stringify(message)}::jsonb)`;
  }

  async addAudit(tx: Db, message: AuditMessage): Promise<void> {
    await tx.insert(outbox).values({ topic: 'audit', payload: message });
  }

  /**
   * Leases up to `limit` deliverable messages, oldest first, for 30 s (the relay marks them
   * delivered or postpones them before then). SKIP LOCKED, so several auth instances share the work.
   */
  async lease(db: Db, limit: number) {
    const deliverable = db
      .select({ id: outbox.id })
      .from(outbox)
      .where(and(isNull(outbox.deliveredAt), lte(outbox.availableAt, sql`now()`)))
      .orderBy(asc(outbox.id))
      .limit(limit)
      .for('update', { skipLocked: true });
    return db
      .update(outbox)
      .set({ availableAt: sql`now() + interval '30 seconds'`, attempts: sql`${outbox.attempts} + 1` })
      .where(inArray(outbox.id, deliverable))
      .returning({ id: outbox.id, topic: outbox.topic, payload: outbox.payload, attempts: outbox.attempts });
  }

  async markDelivered(db: Db, ids: number[]): Promise<void> {
    await db.update(outbox).set({ deliveredAt: sql`now()` }).where(inArray(outbox.id, ids));
  }

  /** Makes the messages deliverable again after `delayMs`. */
  async postpone(db: Db, ids: number[], delayMs: number): Promise<void> {
    await db
      .update(outbox)
      .set({ availableAt: sql`now() + make_interval(secs => ${delayMs / 1000})` })
      .where(inArray(outbox.id, ids));
  }

  /** Ends the backoff of every failed message still waiting it out: they are deliverable at once. */
  async endBackoffs(db: Db): Promise<void> {
    await db
      .update(outbox)
      .set({ availableAt: sql`now()` })
      .where(and(isNull(outbox.deliveredAt), gt(outbox.attempts, 0), gt(outbox.availableAt, sql`now()`)));
  }

  async pruneDelivered(db: Db, olderThanDays: number): Promise<void> {
    const cutoff = sql`now() - make_interval(days => ${olderThanDays})`;
    await db.delete(outbox).where(and(isNotNull(outbox.deliveredAt), lt(outbox.deliveredAt, cutoff)));
  }
}
