import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuditBatch, AuditQuery } from '@rewards/contracts';
import type { Principal } from '@rewards/infrastructure';
import { UnitOfWork, type Db } from '@rewards/infrastructure/persistence';
import { AuditRepository } from './audit.repository.js';

export interface AuditContext {
  actor: Principal;
  requestId: string;
}

/** The audit log: this service's own entries, those auth delivers, and reading and verifying the chain. */
@Injectable()
export class AuditService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: AuditRepository,
  ) {}

  /** Records an operator's or admin's action in the caller's transaction, so action and record commit together. */
  record(
    tx: Db,
    ctx: AuditContext,
    action: string,
    target: { type: string; id: string | null },
    before: unknown,
    after: unknown,
  ) {
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

  /** Entries from auth's outbox, in one transaction. A redelivered entry (same id) changes nothing. */
  async appendDelivered(entries: AuditBatch['entries']): Promise<{ accepted: number }> {
    await this.uow.transaction(async (tx) => {
      for (const e of entries) await this.repo.append(tx, { ...e, at: new Date(e.at) });
    });
    return { accepted: entries.length };
  }

  list(q: AuditQuery) {
    return this.repo.list(this.uow.db, q);
  }

  verify() {
    return this.repo.verify(this.uow.db);
  }
}
