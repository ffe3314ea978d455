import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type {
  CreateWebhookBody,
  UpdateWebhookBody,
  Webhook,
  WebhookDeliveriesQuery,
  WebhookDelivery,
} from '@rewards/contracts';
import { AppError } from '@rewards/infrastructure';
import { UnitOfWork, type Db } from '@rewards/infrastructure/persistence';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { EVENT_CONFIG, type EventConfig } from '../config.js';
import { assertAllowedDestination } from './destination.policy.js';
import { WebhookDeliveryWorker } from './webhook-delivery.worker.js';
import { toDelivery, WebhookMessageRepository } from './webhook-message.repository.js';
import { toWebhook, WebhookRepository } from './webhook.repository.js';
import { newSecret } from './webhook.signature.js';

const webhookNotFound = () => new AppError('NOT_FOUND', 'Webhook not found');
const inactive = () => new AppError('INVALID_STATE', 'The webhook is inactive: activate it first');

/**
 * The webhooks admins manage. Secrets are generated here and shown once (create, rotate); they never
 * reach a response after that, a log, or the audit log. Every change is audited.
 */
@Injectable()
export class WebhooksService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly webhooks: WebhookRepository,
    private readonly messages: WebhookMessageRepository,
    private readonly audit: AuditService,
    private readonly worker: WebhookDeliveryWorker,
    @Inject(EVENT_CONFIG) private readonly config: EventConfig,
  ) {}

  /** Resolves the host before any transaction: a URL that is or may become private is refused (400). */
  private checkUrl(url: string | undefined): Promise<void> {
    if (url === undefined) return Promise.resolve();
    return assertAllowedDestination(url, this.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS);
  }

  private async locked(tx: Db, id: string) {
    const row = await this.webhooks.lock(tx, id);
    if (!row) throw webhookNotFound();
    return row;
  }

  async create(ctx: AuditContext, body: CreateWebhookBody): Promise<{ webhook: Webhook; secret: string }> {
    await this.checkUrl(body.url);
    const secret = newSecret();
    return this.uow.transaction(async (tx) => {
      const row = await this.webhooks.insert(tx, {
        id: randomUUID(),
        url: body.url,
        events: body.events,
        description: body.description ?? null,
        active: true,
        secret,
        createdBy: ctx.actor.subject,
      });
      const webhook = toWebhook(row);
      await this.audit.record(tx, ctx, 'webhook.create', { type: 'webhook', id: row.id }, null, webhook);
      return { webhook, secret };
    });
  }

  list(q: { limit: number; cursor?: string }) {
    return this.webhooks.list(this.uow.db, q.limit, q.cursor);
  }

  async get(id: string): Promise<Webhook> {
    const row = await this.webhooks.find(this.uow.db, id);
    if (!row) throw webhookNotFound();
    return toWebhook(row);
  }

  async update(ctx: AuditContext, id: string, body: UpdateWebhookBody): Promise<Webhook> {
    await this.checkUrl(body.url);
    const webhook = await this.uow.transaction(async (tx) => {
      const before = toWebhook(await this.locked(tx, id));
      const after = toWebhook(await this.webhooks.update(tx, id, body));
      await this.audit.record(tx, ctx, 'webhook.update', { type: 'webhook', id }, before, after);
      return after;
    });
    // Reactivated: what waited for it goes out now.
    if (body.active) this.worker.wake();
    return webhook;
  }

  /** Nothing more is sent to a deleted webhook: its pending messages fail with it. */
  async remove(ctx: AuditContext, id: string): Promise<void> {
    await this.uow.transaction(async (tx) => {
      const before = toWebhook(await this.locked(tx, id));
      await this.webhooks.softDelete(tx, id);
      await this.messages.failPending(tx, id, 'The webhook was deleted');
      await this.audit.record(tx, ctx, 'webhook.delete', { type: 'webhook', id }, before, null);
    });
  }

  /** A new secret, shown once; the old one keeps signing beside it for 24 h. The audit entry says when, not what. */
  async rotateSecret(ctx: AuditContext, id: string): Promise<{ secret: string }> {
    const secret = newSecret();
    return this.uow.transaction(async (tx) => {
      await this.locked(tx, id);
      const row = await this.webhooks.rotateSecret(tx, id, secret);
      await this.audit.record(tx, ctx, 'webhook.rotate-secret', { type: 'webhook', id }, null, {
        previousSecretValidUntil: row.previousSecretUntil?.toISOString() ?? null,
      });
      return { secret };
    });
  }

  async test(ctx: AuditContext, id: string): Promise<{ messageId: string }> {
    const messageId = randomUUID();
    await this.uow.transaction(async (tx) => {
      if (!(await this.locked(tx, id)).active) throw inactive();
      const payload = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: {} });
      await this.messages.insertOne(tx, { messageId, webhookId: id, type: 'webhook.test', payload });
      await this.audit.record(tx, ctx, 'webhook.test', { type: 'webhook', id }, null, { messageId });
    });
    this.worker.wake();
    return { messageId };
  }

  async deliveries(id: string, q: WebhookDeliveriesQuery) {
    if (!(await this.webhooks.find(this.uow.db, id))) throw webhookNotFound();
    return this.messages.list(this.uow.db, id, q);
  }

  /** Sends a message again now (same webhook-id), whatever its status; one more failure past the schedule fails it. */
  async retry(ctx: AuditContext, id: string, messageId: string): Promise<WebhookDelivery> {
    const delivery = await this.uow.transaction(async (tx) => {
      if (!(await this.locked(tx, id)).active) throw inactive();
      const row = await this.messages.lock(tx, id, messageId);
      if (!row) throw new AppError('NOT_FOUND', 'Delivery not found');
      const after = toDelivery(await this.messages.retryNow(tx, id, messageId));
      const target = { type: 'webhook-delivery', id: `${id}/${messageId}` };
      await this.audit.record(tx, ctx, 'webhook.retry', target, toDelivery(row), after);
      return after;
    });
    this.worker.wake();
    return delivery;
  }
}
