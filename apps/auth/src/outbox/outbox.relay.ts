import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { INTERNAL_HEADER, type Logger } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { AUTH_CONFIG, AUTH_LOGGER, type AuthConfig } from '../config.js';
import { OutboxRepository } from './outbox.repository.js';

const ENDPOINT = { activity: '/internal/activities', audit: '/internal/audit' } as const;
const BATCH = 200;
/**
 * How long a kick waits before delivering, so the commits of that moment travel together: at many
 * logins a second, one delivery (two statements and one request) carries several instead of one each.
 */
const GATHER_MS = 100;
/** How often the relay looks for work no commit kicked it for (backoffs ending, other instances' writes). */
const INTERVAL_MS = 1000;

/**
 * Delivers the outbox to the event service: leases a batch (SKIP LOCKED, so several auth instances
 * share the work), posts it, and marks it delivered; on failure the batch comes back after a backoff.
 * A periodic job: it starts with the application and stops with it.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private gathering?: NodeJS.Timeout;
  private running = false;
  /** A commit was kicked for while a drain ran: drain again once it ends. */
  private kickedWhileRunning = false;
  /** A delivery failed since the backoffs were last ended (or an earlier run may have left some). */
  private backingOff = true;
  private started = false;
  private stopped = false;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxRepository,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(AUTH_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.started = true;
    this.timer = setInterval(() => void this.drain(), INTERVAL_MS);
    this.timer.unref();
  }

  /** Delivers soon after a commit (within GATHER_MS) instead of at the next tick (once the relay runs). */
  kick(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.kickedWhileRunning = true;
      return;
    }
    this.gathering ??= setTimeout(() => {
      this.gathering = undefined;
      void this.drain();
    }, GATHER_MS);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.gathering);
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
      this.logger.warn({ err: { message: (err as Error).message } }, 'outbox delivery failed; will retry');
    } finally {
      this.running = false;
    }
    if (this.kickedWhileRunning) {
      this.kickedWhileRunning = false;
      this.kick();
    }
    return delivered;
  }

  private async deliverBatch(): Promise<number> {
    const leased = await this.outbox.lease(this.uow.db, BATCH);
    if (leased.length === 0) return 0;
    const byTopic = {
      activity: leased.filter((r) => r.topic === 'activity'),
      audit: leased.filter((r) => r.topic === 'audit'),
    };
    let sent = 0;
    for (const topic of ['activity', 'audit'] as const) {
      const rows = byTopic[topic].sort((a, b) => a.id - b.id);
      if (rows.length === 0) continue;
      const ids = rows.map((r) => r.id);
      try {
        await this.post(
          topic,
          rows.map((r) => r.payload),
        );
        await this.outbox.markDelivered(this.uow.db, ids);
        sent += rows.length;
        if (this.backingOff) {
          // The event service answers again: messages waiting out a backoff go now, not up to 30 s later.
          // (A message another instance holds may be sent twice; the receiver ignores the repeat.)
          await this.outbox.endBackoffs(this.uow.db);
          this.backingOff = false;
        }
      } catch (err) {
        this.backingOff = true;
        const attempts = Math.max(...rows.map((r) => r.attempts));
        const backoffMs = Math.min(30_000, 200 * 2 ** Math.min(attempts, 10));
        await this.outbox.postpone(this.uow.db, ids, backoffMs);
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
}
