import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { TOKEN_VERIFIER, type TokenVerifier } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { ClaimRepository } from './claims/claim.repository.js';
import { WebhookDeliveryWorker } from './webhooks/webhook-delivery.worker.js';
import { WebhookMessageRepository } from './webhooks/webhook-message.repository.js';

const HOUR_MS = 3_600_000;
/** Delivered and failed webhook messages are kept this long for GET /webhooks/{id}/deliveries. */
const WEBHOOK_MESSAGE_RETENTION_DAYS = 30;

/**
 * The event service's periodic jobs, all of them: started once the application is up, stopped with
 * the module. Timers are unref'd so they never keep a process alive on their own.
 */
@Injectable()
export class Jobs implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly uow: UnitOfWork,
    private readonly claims: ClaimRepository,
    private readonly webhookMessages: WebhookMessageRepository,
    private readonly webhooks: WebhookDeliveryWorker,
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
  ) {}

  onApplicationBootstrap(): void {
    // Auth's keys and the revocation feed, polled for as long as the service runs.
    this.verifier.start?.();
    // Idempotency keys are kept at least 24 h; older than 48 h they go. A failed run waits for the next.
    this.every(HOUR_MS, () => this.claims.pruneIdempotencyKeys(this.uow.db, 48));
    // The webhook outbox is sent from every instance, for as long as the service runs.
    this.webhooks.start();
    this.every(HOUR_MS, () => this.webhookMessages.prune(this.uow.db, WEBHOOK_MESSAGE_RETENTION_DAYS));
  }

  /** Sends in flight finish (each within its 10 s timeout) and are recorded before the database closes. */
  async onModuleDestroy(): Promise<void> {
    this.verifier.stop?.();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.webhooks.stop();
  }

  private every(ms: number, job: () => Promise<unknown>): void {
    const timer = setInterval(() => void job().catch(() => undefined), ms);
    timer.unref();
    this.timers.push(timer);
  }
}
