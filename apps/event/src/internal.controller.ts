import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AuditBatch, PlatformActivitiesBody } from '@rewards/contracts';
import { InternalGuard, ZodPipe } from '@rewards/infrastructure';
import { ActivitiesService } from './activities/activities.service.js';
import { AuditService } from './audit/audit.service.js';

/** Deliveries from auth's outbox. Both are idempotent: a redelivery changes nothing. */
@Controller('internal')
@UseGuards(InternalGuard)
export class InternalController {
  constructor(
    private readonly activities: ActivitiesService,
    private readonly audit: AuditService,
  ) {}

  @Post('activities')
  @HttpCode(202)
  ingest(@Body(new ZodPipe(PlatformActivitiesBody)) body: PlatformActivitiesBody) {
    return this.activities.ingestFromPlatform('auth', body.activities);
  }

  @Post('audit')
  @HttpCode(202)
  append(@Body(new ZodPipe(AuditBatch)) body: AuditBatch) {
    return this.audit.appendDelivered(body.entries);
  }
}
