import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Principal } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { AuditRepository } from './audit.repository.js';

export interface AuditContext {
  actor: Principal;
  requestId: string;
}

/** Records an operator's or admin's action in the caller's transaction, so action and record commit together. */
@Injectable()
export class AuditService {
  constructor(private readonly repo: AuditRepository) {}

  record(tx: Db, ctx: AuditContext, action: string, target: { type: string; id: string | null }, before: unknown, after: unknown) {
    return this.repo.append(tx, {
      id: randomUUID(),
      actorId: ctx.actor.subject,
      action,
      targetType: target.type,
      targetId: target.id,
      before: before ?? null,
      after: after ?? null,
      requestId: ctx.requestId,
      at: new Date(),
    });
  }
}
