import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { AuditRecord } from '@rewards/contracts';
import { INTERNAL_HEADER, type Logger } from '@rewards/infrastructure';
import { DATABASE, rowsOf, type Database, type Db } from '@rewards/infrastructure/persistence';
import { inArray, sql } from 'drizzle-orm';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { outbox } from '../schema.js';

export interface ActivityMessage {
  id: string;
  userId: string;
  type: 'LOGIN' | 'INVITE_ACCEPTED';
  occurredAt: string;
  attributes?: Record<string, unknown>;
}

/** Audit entries travel in the contract's shape, so the event service's validation and this writer agree. */
export type AuditMessage = AuditRecord;

const ENDPOINT = { activity: '/internal/activities', audit: '/internal/audit' } as const;
const BATCH = 200;

/** Writes messages in the caller's transaction. */
@Injectable()
export class Outbox {
  async activity(tx: Db, message: ActivityMessage): Promise<void> {
    await tx.insert(outbox).values({ topic: 'activity', payload: message });
  }
  async audit(tx: Db, message: AuditMessage): Promise<void> {
    await tx.insert(outbox).values({ topic: 'audit', payload: message });
  }
}

/**
 * Delivers the outbox to the event service: leases a batch (SKIP LOCKED, so several auth instances
 * share the work), posts it, and marks it delivered; on failure the batch comes back after a backoff.
 */
@Injectable()
export class OutboxRelay implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private next = 0;
  private logger?: Logger;

  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  start(logger: Logger, intervalMs = 200): void {
    this.logger = logger;
    this.timer = setInterval(() => void this.drain(), intervalMs);
    this.timer.unref();
  }

  /** Delivers soon after a commit instead of at the next tick. */
  kick(): void {
    if (this.logger && !this.stopped) setImmediate(() => void this.drain());
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Runs until the outbox has nothing deliverable; returns the number of messages delivered. */
  async drain(): Promise<number> {
    if (this.running || this.stopped) return 0;
    this.running = true;
    let delivered = 0;
    try {
      for (;;) {
        const n = await this.deliverBatch();
        delivered += n;
        if (n < BATCH) break;
      }
    } catch (err) {
      this.logger?.warn({ err: { message: (err as Error).message } }, 'outbox delivery failed; will retry');
    } finally {
      this.running = false;
    }
    return delivered;
  }

  private async deliverBatch(): Promise<number> {
    const leased = rowsOf<{ id: number; topic: 'activity' | 'audit'; payload: unknown; attempts: number }>(
      await this.database.db.execute(sql`
        update outbox set available_at = now() + interval '30 seconds', attempts = attempts + 1
        where id in (
          select id from outbox where delivered_at is null and available_at <= now()
          order by id limit ${BATCH} for update skip locked)
        returning id, topic, payload, attempts`),
    );
    if (leased.length === 0) return 0;
    const byTopic = { activity: leased.filter((r) => r.topic === 'activity'), audit: leased.filter((r) => r.topic === 'audit') };
    let sent = 0;
    for (const topic of ['activity', 'audit'] as const) {
      const rows = byTopic[topic].sort((a, b) => Number(a.id) - Number(b.id));
      if (rows.length === 0) continue;
      const ids = rows.map((r) => Number(r.id));
      try {
        await this.post(topic, rows.map((r) => r.payload));
        await this.database.db.update(outbox).set({ deliveredAt: sql`now()` }).where(inArray(outbox.id, ids));
        sent += rows.length;
        // The event service answers again: messages waiting out a backoff go now, not up to 30 s later.
        // (A message another instance holds may be sent twice; the receiver ignores the repeat.)
        await this.database.db.execute(
          sql`update outbox set available_at = now() where delivered_at is null and attempts > 0 and available_at > now()`,
        );
      } catch (err) {
        const attempts = Math.max(...rows.map((r) => r.attempts));
        const backoffMs = Math.min(30_000, 200 * 2 ** Math.min(attempts, 10));
        await this.database.db
          .update(outbox)
          .set({ availableAt: sql`now() + make_interval(secs => ${backoffMs / 1000})` })
          .where(inArray(outbox.id, ids));
        throw err;
      }
    }
    return sent;
  }

  private async post(topic: 'activity' | 'audit', payloads: unknown[]): Promise<void> {
    const body = topic === 'activity' ? { activities: payloads } : { entries: payloads };
    let lastError: unknown;
    for (const base of this.config.EVENT_SERVICE_URL) {
      try {
        const res = await fetch(new URL(ENDPOINT[topic], base), {
          method: 'POST',
          headers: { 'content-type': 'application/json', [INTERNAL_HEADER]: this.config.INTERNAL_SECRET },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
        });
        if (res.ok) return;
        lastError = new Error(`event service answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  async pruneDelivered(olderThanDays = 7): Promise<void> {
    await this.database.db.execute(
      sql`delete from outbox where delivered_at is not null and delivered_at < now() - make_interval(days => ${olderThanDays})`,
    );
  }
}
