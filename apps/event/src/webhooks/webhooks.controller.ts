import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { WebhooksService } from './webhooks.service.js';

@Controller()
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Endpoint(routes.createWebhook)
  create(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { body }: InputOf<typeof routes.createWebhook>,
  ) {
    return this.webhooks.create({ actor, requestId }, body);
  }

  @Endpoint(routes.listWebhooks)
  list(@Input() { query }: InputOf<typeof routes.listWebhooks>) {
    return this.webhooks.list(query);
  }

  @Endpoint(routes.getWebhook)
  async get(@Input() { params }: InputOf<typeof routes.getWebhook>) {
    return { webhook: await this.webhooks.get(params.id) };
  }

  @Endpoint(routes.updateWebhook)
  async update(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params, body }: InputOf<typeof routes.updateWebhook>,
  ) {
    return { webhook: await this.webhooks.update({ actor, requestId }, params.id, body) };
  }

  @Endpoint(routes.deleteWebhook)
  async remove(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.deleteWebhook>,
  ) {
    await this.webhooks.remove({ actor, requestId }, params.id);
  }

  @Endpoint(routes.rotateWebhookSecret)
  rotateSecret(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.rotateWebhookSecret>,
  ) {
    return this.webhooks.rotateSecret({ actor, requestId }, params.id);
  }

  @Endpoint(routes.testWebhook)
  test(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.testWebhook>,
  ) {
    return this.webhooks.test({ actor, requestId }, params.id);
  }

  @Endpoint(routes.listWebhookDeliveries)
  deliveries(@Input() { params, query }: InputOf<typeof routes.listWebhookDeliveries>) {
    return this.webhooks.deliveries(params.id, query);
  }

  @Endpoint(routes.retryWebhookDelivery)
  async retry(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.retryWebhookDelivery>,
  ) {
    return { delivery: await this.webhooks.retry({ actor, requestId }, params.id, params.messageId) };
  }
}
