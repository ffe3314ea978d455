import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { AuditBatch, PlatformActivitiesBody } from '@rewards/contracts';
import { InternalGuard, ZodPipe } from '@rewards/infrastructure';
import { DATABASE, type Database } from '@rewards/infrastructure/persistence';
import { ActivitiesService } from './activities/activities.service.js';
import { AuditRepository } from './audit/audit.repository.js';

/** Deliveries from auth's outbox. Both are idempotent: a redelivery changes nothing. */
@Controller('internal')
@UseGuards(InternalGuard)
export class InternalController {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    private readonly activities: ActivitiesService,
    private readonly audit: AuditRepository,
  ) {}

  @Post('activities')
  @HttpCode(202)
  ingest(@Body(new ZodPipe(PlatformActivitiesBody)) body: PlatformActivitiesBody) {
    return this.activities.ingestFromPlatform('auth', body.activities);
  }

  @Post('audit')
  @HttpCode(202)
  async append(@Body(new ZodPipe(AuditBatch)) body: AuditBatch) {
    await this.database.db.transaction(async (tx) => {
      for (const e of body.entries) await this.audit.append(tx, { ...e, at: new Date(e.at) });
    });
    return { accepted: body.entries.length };
  }
}
