import { Inject, Injectable, Logger } from '@nestjs/common';
import { METRICS, type Metrics } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { Counter, Gauge } from 'prom-client';
import { EVENT_CONFIG, type EventConfig } from '../config.js';
import { retryDelayMs } from '../domain/webhook-retry.js';
import { type LeasedMessage, type Outcome, WebhookMessageRepository } from './webhook-message.repository.js';
import { WebhookSender } from './webhook.sender.js';
import { signatureHeader } from './webhook.signature.js';

/** How long a leased message is this instance's: past it (the instance died), another sends it. */
const LEASE_SECONDS = 30;
/** Messages leased by one instance, all endpoints together. */
const LEASED_MAX = 512;
/**
 * Between polls when nothing is due: the first, doubled after each poll that finds nothing, up to the
 * last (plus up to 50 ms, so instances do not poll in step). This instance's own decisions and
 * retries wake it at once or when due; polling only finds what other instances left behind.
 */
const IDLE_POLL_MS = [200, 1000] as const;
/** Retry due times this instance keeps to wake for (the earliest of each outcome write); later ones wait for a poll. */
const RETRY_TIMES_KEPT = 64;
const OUTCOMES_PER_WRITE = 500;
/**
 * The least time between two polls: under load, each lease then takes the messages of many
 * decisions rather than one or two.
 */
const GATHER_MS = 20;
const FAILURE_LOG_INTERVAL_MS = 30_000;

interface Endpoint {
  sending: number;
  waiting: LeasedMessage[];
}

/**
 * Sends the outbox, on every instance: leases due messages (SKIP LOCKED, so instances share the work),
 * sends each as a signed POST outside any transaction, and writes the outcomes back in batches:
 * delivered on a 2xx, else retried on the schedule (WEBHOOK_RETRY_SCHEDULE), then FAILED. Polls at once
 * when a decision on this instance committed messages (`wake`), when one of its retries comes due, and
 * otherwise every 200 ms to 1 s (see IDLE_POLL_MS).
 * Each endpoint has its own bounded share of sends, so a slow or dead one delays only its own messages.
 */
@Injectable()
export class WebhookDeliveryWorker {
  private readonly logger = new Logger('webhooks');
  private readonly sender: WebhookSender;
  private readonly schedule: readonly number[];
  /** Sends in flight to one endpoint (WEBHOOK_SENDS_PER_ENDPOINT): a slow receiver holds these, and nothing else. */
  private readonly sendingPerWebhook: number;
  /** Messages of one endpoint leased at once (sending, or next in line): two rounds fit in a lease. */
  private readonly leasedPerWebhook: number;
  private readonly deliveries: Counter<'outcome'>;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly sends = new Set<Promise<void>>();
  private readonly outcomes: Outcome[] = [];
  private leased = 0;
  private running = false;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private timerAt = Infinity;
  /** When retries this instance scheduled come due, soonest first (as the database has them). */
  private retryTimes: number[] = [];
  private emptyPolls = 0;
  private lastPollAt = 0;
  private lastFailureLog = 0;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly messages: WebhookMessageRepository,
    @Inject(EVENT_CONFIG) config: EventConfig,
    @Inject(METRICS) metrics: Metrics,
  ) {
    this.sender = new WebhookSender(config.WEBHOOK_ALLOW_PRIVATE_NETWORKS);
    this.schedule = config.WEBHOOK_RETRY_SCHEDULE;
    this.sendingPerWebhook = config.WEBHOOK_SENDS_PER_ENDPOINT;
    this.leasedPerWebhook = 2 * this.sendingPerWebhook;
    this.deliveries = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (another is scheduled), failed (the last)',
      labelNames: ['outcome'] as const,
      registers: [metrics.registry],
    });
    for (const outcome of ['delivered', 'retry', 'failed']) this.deliveries.inc({ outcome }, 0);
    const oldestPending = () => this.messages.oldestPendingAgeSeconds(this.uow.db);
    new Gauge({
      name: 'webhook_outbox_oldest_pending_seconds',
      help: 'Age of the oldest webhook message not yet delivered or failed (0 when none is pending)',
      registers: [metrics.registry],
      async collect() {
        // A scrape while the database is away keeps the last value rather than failing every metric.
        const age = await oldestPending().catch(() => undefined);
        if (age !== undefined) this.set(age);
      },
    });
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  /** Stops leasing, gives back what was leased but not sent, lets sends in flight finish and records them. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
    const unsent = [...this.endpoints.values()].flatMap((e) => e.waiting.splice(0));
    this.leased -= unsent.length;
    await this.messages.release(this.uow.db, unsent).catch((err: unknown) => this.failed('release', err));
    await Promise.allSettled([...this.sends]);
    await this.flushing;
    await this.flush();
    this.sender.close();
  }

  /**
   * Polls soon (once the poll under way, if any, is done, and GATHER_MS after the last one began):
   * messages were just committed, or room was freed.
   */
  wake(): void {
    if (!this.running) return;
    if (this.polling !== undefined) {
      this.pollAgain = true;
      return;
    }
    const wait = this.lastPollAt + GATHER_MS - Date.now();
    if (wait > 0) {
      this.later(wait);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pollAgain = false;
    this.lastPollAt = Date.now();
    while (this.retryTimes.length > 0 && this.retryTimes[0]! <= this.lastPollAt) this.retryTimes.shift();
    this.polling = this.leaseDue().then((leased) => {
      this.polling = undefined;
      // A poll that found work may have left some (other endpoints, the total): look again at once.
      this.emptyPolls = leased > 0 ? 0 : this.emptyPolls + 1;
      if (leased > 0 || this.pollAgain) return this.later(0);
      const idle = Math.min(IDLE_POLL_MS[1], IDLE_POLL_MS[0] * 2 ** (this.emptyPolls - 1)) + Math.random() * 50;
      this.later(Math.max(0, Math.min(idle, (this.retryTimes[0] ?? Infinity) - Date.now())));
    });
  }

  private later(ms: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timerAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.wake();
    }, ms);
    this.timer.unref();
  }

  /** Polls no later than `ms` from now: a retry of this instance's comes due then. */
  private by(ms: number): void {
    const at = Date.now() + Math.max(0, ms);
    const i = this.retryTimes.findIndex((t) => t >= at);
    if (i === -1) this.retryTimes.push(at);
    else if (this.retryTimes[i] !== at) this.retryTimes.splice(i, 0, at);
    if (this.retryTimes.length > RETRY_TIMES_KEPT) this.retryTimes.pop();
    if (this.polling === undefined && at < this.timerAt) this.later(at - Date.now());
  }

  private async leaseDue(): Promise<number> {
    const room = LEASED_MAX - this.leased;
    if (room <= 0) return 0;
    const caps: Record<string, number> = {};
    for (const [id, e] of this.endpoints) caps[id] = this.leasedPerWebhook - e.sending - e.waiting.length;
    try {
      const due = await this.messages.lease(this.uow.db, {
        caps,
        perWebhook: this.leasedPerWebhook,
        total: room,
        leaseSeconds: LEASE_SECONDS,
      });
      for (const m of due) this.enqueue(m);
      return due.length;
    } catch (err) {
      this.failed('lease', err);
      return 0;
    }
  }

  private enqueue(m: LeasedMessage): void {
    this.leased++;
    let endpoint = this.endpoints.get(m.webhookId);
    if (!endpoint) {
      endpoint = { sending: 0, waiting: [] };
      this.endpoints.set(m.webhookId, endpoint);
    }
    endpoint.waiting.push(m);
    this.pump(m.webhookId, endpoint);
  }

  /** Starts the endpoint's next sends, up to its share. */
  private pump(webhookId: string, endpoint: Endpoint): void {
    while (endpoint.sending < this.sendingPerWebhook && endpoint.waiting.length > 0) {
      const message = endpoint.waiting.shift()!;
      endpoint.sending++;
      const send: Promise<void> = this.deliver(message).finally(() => {
        this.sends.delete(send);
        endpoint.sending--;
        this.leased--;
        if (endpoint.sending === 0 && endpoint.waiting.length === 0) this.endpoints.delete(webhookId);
        else this.pump(webhookId, endpoint);
        this.wake();
      });
      this.sends.add(send);
    }
  }

  private async deliver(m: LeasedMessage): Promise<void> {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': m.messageId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(m.secrets, m.messageId, timestamp, m.payload),
    };
    const result = await this.sender
      .send(m.url, headers, m.payload)
      .catch((err: unknown) => ({ status: null, error: err instanceof Error ? err.message : 'request failed' }));
    const delivered = result.error === null;
    const retryInMs = delivered ? null : retryDelayMs(this.schedule, m.attempts);
    this.deliveries.inc({ outcome: delivered ? 'delivered' : retryInMs === null ? 'failed' : 'retry' });
    this.outcomes.push({
      webhookId: m.webhookId,
      messageId: m.messageId,
      attempts: m.attempts,
      delivered,
      retryInMs,
      responseStatus: result.status,
      error: result.error,
    });
    this.flushSoon();
  }

  /** Writes outcomes now; those that arrive while a write is under way go together in the next one. */
  private flushSoon(): void {
    if (this.flushing !== undefined) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.outcomes.length > 0) this.flushSoon();
    });
  }

  /** Writes the outcomes gathered so far, in batches; one that fails is sent again once its lease runs out. */
  private async flush(): Promise<void> {
    while (this.outcomes.length > 0) {
      const batch = this.outcomes.splice(0, OUTCOMES_PER_WRITE);
      const dueInMs = await this.messages
        .recordOutcomes(this.uow.db, batch)
        .catch((err: unknown) => this.failed('record', err));
      if (typeof dueInMs === 'number') this.by(dueInMs);
    }
  }

  /** Database trouble: logged now and then (the next poll tries again), never with the messages' content. */
  private failed(step: string, err: unknown): void {
    if (Date.now() - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLog = Date.now();
    const code = (err as { code?: string; cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
    this.logger.warn(`webhook delivery: ${step} failed (${code ?? (err as Error)?.name ?? 'error'}); retrying`);
  }
}
