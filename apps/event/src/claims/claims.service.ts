import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Claim, ClaimReason, ClaimsQuery, RewardSnapshot } from '@rewards/contracts';
import { AppError, isUniqueViolation, withRetry, type Principal } from '@rewards/infrastructure';
import { UnitOfWork, type Db } from '@rewards/infrastructure/persistence';
import { ActivityRepository } from '../activities/activity.repository.js';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { periodKey } from '../domain/calendar.js';
import { evaluate, factsNeeded } from '../domain/condition-evaluator.js';
import { isOpen } from '../domain/event-status.js';
import { canSee, canSeeClaim, isStaff } from '../domain/visibility.js';
import { EventRepository } from '../events/event.repository.js';
import { eventNotFound } from '../events/events.service.js';
import type { EventRow, RewardRow } from '../schema.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.service.js';
import { ACTIVE_CLAIM_INDEX, ClaimRepository, toClaim, type NewClaim } from './claim.repository.js';

const snapshotOf = (rewards: RewardRow[]): RewardSnapshot[] =>
  rewards.map((r) => ({ rewardId: r.id, type: r.type, name: r.name, itemCode: r.itemCode, quantity: r.quantity }));

/** A decision made in a transaction, and how many webhook messages it wrote (sent once it commits). */
interface Decided {
  claim: Claim;
  messages: number;
}

const alreadyClaimed = () =>
  new AppError('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');

@Injectable()
export class ClaimsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly events: EventRepository,
    private readonly claims: ClaimRepository,
    private readonly activities: ActivityRepository,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * One claim attempt. Every attempt on an existing event is recorded with its outcome; a second
   * pending/approved claim for the same period fails on the unique index, on any instance.
   * Limited stock is reserved by a conditional decrement in the same transaction.
   */
  async claim(player: Principal, eventId: string, idempotencyKey?: string): Promise<Claim> {
    const userId = player.subject;
    try {
      const { claim, messages } = await withRetry(() =>
        this.uow.transaction(async (tx): Promise<Decided> => {
          if (idempotencyKey && !(await this.claims.reserveIdempotencyKey(tx, userId, idempotencyKey, eventId))) {
            return { claim: await this.replay(tx, userId, idempotencyKey, eventId), messages: 0 };
          }
          const decided = await this.evaluateAttempt(tx, player, eventId);
          if (idempotencyKey) {
            await this.claims.storeResponse(tx, userId, idempotencyKey, 201, { claim: decided.claim });
          }
          return decided;
        }),
      );
      this.outbox.committed(messages);
      return claim;
    } catch (err) {
      if (isUniqueViolation(err, ACTIVE_CLAIM_INDEX)) throw alreadyClaimed();
      throw err;
    }
  }

  private async replay(tx: Db, userId: string, key: string, eventId: string): Promise<Claim> {
    const stored = await this.claims.storedResponse(tx, userId, key);
    if (!stored || stored.eventId !== eventId || stored.status === null) {
      throw new AppError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used for a different request');
    }
    return (stored.body as { claim: Claim }).claim;
  }

  /** The decision's webhook messages, in its transaction. */
  private async announce(tx: Db, claim: Claim): Promise<Decided> {
    return { claim, messages: await this.outbox.claimDecided(tx, claim) };
  }

  /** Decides a new claim (approved, pending or rejected with its reason) and writes it, with its messages. */
  private async evaluateAttempt(tx: Db, player: Principal, eventId: string): Promise<Decided> {
    const userId = player.subject;
    // Shared with other claims, exclusive against a change of the frozen fields (see EventsService.update).
    await this.events.lockShared(tx, eventId);
    const found = await this.events.withRewards(tx, eventId);
    // A draft the player may not see is an unknown event: the throw rolls back the transaction, so
    // neither a claim (which would lock the draft's condition) nor the Idempotency-Key is kept.
    if (!found || !canSee(player, found.event)) throw eventNotFound();
    const { event, rewards } = found;
    const now = new Date();
    const base = {
      userId,
      eventId,
      periodKey: periodKey(event.repeat, now, event.timezone),
      rewards: snapshotOf(rewards),
    };

    let reason: ClaimReason | null = null;
    if (!isOpen(event, now)) reason = 'EVENT_NOT_ACTIVE';
    else if (!(await this.conditionMet(tx, userId, event))) reason = 'CONDITION_NOT_MET';

    if (reason === null) {
      const status = event.approval === 'AUTO' ? 'APPROVED' : 'PENDING';
      const approved = status === 'APPROVED';
      const claim: NewClaim = {
        id: randomUUID(),
        ...base,
        status,
        decidedAt: approved ? now : null,
        decidedBy: approved ? 'system' : null,
      };
      const stocked = rewards.filter((r) => r.stock !== null).map((r) => ({ rewardId: r.id, quantity: r.quantity }));
      const row = await this.claims.insertReservingStock(tx, claim, stocked);
      if (row) return this.announce(tx, toClaim(row));
      reason = 'OUT_OF_STOCK';
    }
    // A player who already holds this period's claim hears so, rather than a misleading reason.
    if (await this.claims.activeExists(tx, userId, eventId, base.periodKey)) throw alreadyClaimed();
    const row = await this.claims.insert(tx, {
      id: randomUUID(),
      ...base,
      status: 'REJECTED',
      reason,
      decidedAt: now,
      decidedBy: 'system',
    });
    return this.announce(tx, toClaim(row));
  }

  private async conditionMet(tx: Db, userId: string, event: EventRow): Promise<boolean> {
    const facts = await this.activities.facts(
      tx,
      userId,
      { start: event.startsAt, end: event.endsAt, timeZone: event.timezone },
      factsNeeded(event.condition),
    );
    return evaluate(event.condition, facts).met;
  }

  /**
   * The claim a decision applies to, locked: it exists, it is not the decider's own (nobody approves
   * or rejects their own claim, whatever their roles), and it is still PENDING. Every decision path
   * goes through here before it writes anything.
   */
  private async lockForDecision(tx: Db, ctx: AuditContext, claimId: string) {
    const row = await this.claims.lock(tx, claimId);
    if (!row) throw new AppError('NOT_FOUND', 'Claim not found');
    if (row.userId === ctx.actor.subject)
      throw new AppError('FORBIDDEN', 'You cannot approve or reject your own claim');
    if (row.status !== 'PENDING') throw new AppError('INVALID_STATE', `The claim is ${row.status}, not PENDING`);
    return row;
  }

  async approve(ctx: AuditContext, claimId: string): Promise<Claim> {
    const { claim, messages } = await this.uow.transaction(async (tx) => {
      const row = await this.lockForDecision(tx, ctx, claimId);
      const decided = await this.claims.recordDecision(tx, claimId, {
        status: 'APPROVED',
        reason: null,
        note: null,
        decidedBy: ctx.actor.subject,
      });
      await this.claims.insertGrants(tx, row);
      // Before the audit entry, which holds the audit log's lock until the commit.
      const decision = await this.announce(tx, toClaim(decided));
      await this.audit.record(tx, ctx, 'claim.approve', { type: 'claim', id: claimId }, toClaim(row), decision.claim);
      return decision;
    });
    this.outbox.committed(messages);
    return claim;
  }

  async reject(ctx: AuditContext, claimId: string, note: string): Promise<Claim> {
    const { claim, messages } = await this.uow.transaction(async (tx) => {
      const row = await this.lockForDecision(tx, ctx, claimId);
      const decided = await this.claims.recordDecision(tx, claimId, {
        status: 'REJECTED',
        reason: 'REJECTED_BY_OPERATOR',
        note,
        decidedBy: ctx.actor.subject,
      });
      // The pending claim held its units; they go back to the pool.
      for (const r of row.rewards) await this.events.releaseStock(tx, r.rewardId, r.quantity);
      // Before the audit entry, which holds the audit log's lock until the commit.
      const decision = await this.announce(tx, toClaim(decided));
      await this.audit.record(tx, ctx, 'claim.reject', { type: 'claim', id: claimId }, toClaim(row), decision.claim);
      return decision;
    });
    this.outbox.committed(messages);
    return claim;
  }

  async get(viewer: Principal, id: string): Promise<Claim> {
    const row = await this.claims.find(this.uow.db, id);
    if (!row || !canSeeClaim(viewer, row)) throw new AppError('NOT_FOUND', 'Claim not found');
    return toClaim(row);
  }

  list(viewer: Principal, q: ClaimsQuery) {
    if (!isStaff(viewer)) {
      if (q.userId && q.userId !== viewer.subject) return { items: [], nextCursor: null };
      return this.claims.list(this.uow.db, { ...q, userId: viewer.subject });
    }
    return this.claims.list(this.uow.db, q);
  }

  grants(viewer: Principal, limit: number, cursor?: string) {
    return this.claims.grantsOf(this.uow.db, viewer.subject, limit, cursor);
  }
}
