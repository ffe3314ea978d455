import { Injectable } from '@nestjs/common';
import type { Activity } from '@rewards/contracts';
import { withRetry, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { ActivityRepository } from './activity.repository.js';

/** Where a fact came from: ids are unique per source, so resends are recognised. */
export function sourceOf(principal: Principal): string {
  return principal.kind === 'api-key' ? `api-key:${principal.subject}` : 'admin';
}

@Injectable()
export class ActivitiesService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly activities: ActivityRepository,
    private readonly audit: AuditService,
  ) {}

  async ingest(ctx: AuditContext, batch: Activity[]) {
    return withRetry(() =>
      this.uow.transaction(async (tx) => {
        const result = await this.activities.ingest(tx, sourceOf(ctx.actor), batch);
        if (ctx.actor.kind === 'user') {
          await this.audit.record(tx, ctx, 'activities.ingest', { type: 'activities', id: null }, null, {
            ...result,
            count: batch.length,
            ids: batch.slice(0, 20).map((a) => a.id),
          });
        }
        return result;
      }),
    );
  }

  /** Facts recorded by the platform itself (auth's logins and invitations). */
  ingestFromPlatform(source: string, batch: Activity[]) {
    return withRetry(() => this.uow.transaction((tx) => this.activities.ingest(tx, source, batch)));
  }
}
