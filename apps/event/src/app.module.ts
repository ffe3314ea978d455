import { type DynamicModule, Module } from '@nestjs/common';
import { type Metrics, type TokenVerifier } from '@rewards/infrastructure';
import { HealthController, serviceProviders, type Database } from '@rewards/infrastructure/persistence';
import { ActivitiesController } from './activities/activities.controller.js';
import { ActivitiesService } from './activities/activities.service.js';
import { ActivityRepository } from './activities/activity.repository.js';
import { AuditController } from './audit/audit.controller.js';
import { AuditRepository } from './audit/audit.repository.js';
import { AuditService } from './audit/audit.service.js';
import { ClaimDecisionsController } from './claims/claim-decisions.controller.js';
import { ClaimDecisionsService } from './claims/claim-decisions.service.js';
import { ClaimRepository } from './claims/claim.repository.js';
import { ClaimWriter } from './claims/claim-writer.js';
import { FactsReader } from './claims/facts-reader.js';
import { ClaimsController } from './claims/claims.controller.js';
import { ClaimsService } from './claims/claims.service.js';
import { EventDefinitions } from './events/event-definitions.js';
import { EVENT_CONFIG, type EventConfig } from './config.js';
import { EventStatsController } from './events/event-stats.controller.js';
import { EventStatsRepository } from './events/event-stats.repository.js';
import { EventStatsService } from './events/event-stats.service.js';
import { EventRepository } from './events/event.repository.js';
import { EventsController } from './events/events.controller.js';
import { EventsService } from './events/events.service.js';
import { ProgressService } from './events/progress.service.js';
import { GrantsController } from './grants/grants.controller.js';
import { GrantsFeedRepository } from './grants/grants-feed.repository.js';
import { GrantsService } from './grants/grants.service.js';
import { InternalController } from './internal.controller.js';
import { Jobs } from './jobs.js';
import { WebhookDeliveryWorker } from './webhooks/webhook-delivery.worker.js';
import { WebhookMessageRepository } from './webhooks/webhook-message.repository.js';
import { WebhookOutbox } from './webhooks/webhook-outbox.service.js';
import { WebhookRepository } from './webhooks/webhook.repository.js';
import { WebhooksController } from './webhooks/webhooks.controller.js';
import { WebhooksService } from './webhooks/webhooks.service.js';

@Module({})
export class EventModule {
  static register(config: EventConfig, database: Database, metrics: Metrics, verifier: TokenVerifier): DynamicModule {
    return {
      module: EventModule,
      controllers: [
        HealthController,
        EventsController,
        ClaimsController,
        ClaimDecisionsController,
        EventStatsController,
        ActivitiesController,
        AuditController,
        GrantsController,
        WebhooksController,
        InternalController,
      ],
      providers: [
        { provide: EVENT_CONFIG, useValue: config },
        ...serviceProviders({ database, metrics, internalSecret: config.INTERNAL_SECRET, verifier }),
        EventRepository,
        EventDefinitions,
        ClaimRepository,
        ClaimWriter,
        FactsReader,
        ActivityRepository,
        AuditRepository,
        AuditService,
        GrantsFeedRepository,
        GrantsService,
        EventsService,
        ClaimsService,
        ClaimDecisionsService,
        EventStatsRepository,
        EventStatsService,
        ActivitiesService,
        ProgressService,
        WebhookRepository,
        WebhookMessageRepository,
        WebhookDeliveryWorker,
        WebhookOutbox,
        WebhooksService,
        Jobs,
      ],
    };
  }
}
