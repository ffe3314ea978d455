import { randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Claim, ClaimReason, ClaimsQuery, Progress, RewardSnapshot } from '@rewards/contracts';
import { AppError, isUniqueViolation, withRetry, type Principal } from '@rewards/infrastructure';
import { DATABASE, type Database, type Db } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { ActivityRepository } from '../activities/activity.repository.js';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { periodKey } from '../domain/calendar.js';
import { evaluate, factsNeeded } from '../domain/condition-evaluator.js';
import { isOpen } from '../domain/event-status.js';
import { eventLockKey, EventRepository } from '../events/event.repository.js';
import { canSee, eventNotFound, isStaff } from '../events/events.service.js';
import type { EventRow, RewardRow } from '../schema.js';
import { ACTIVE_CLAIM_INDEX, ClaimRepository, toClaim } from './claim.repository.js';

class OutOfStock extends Error {}

const snapshotOf = (rewards: RewardRow[]): RewardSnapshot[] =>
  rewards.map((r) => ({ rewardId: r.id, type: r.type, name: r.name, itemCode: r.itemCode, quantity: r.quantity }));

@Injectable()
export class ClaimsService implements OnModuleInit, OnModuleDestroy {
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    @Inject(DATABASE) private readonly database: Database,
    private readonly events: EventRepository,
    private readonly claims: ClaimRepository,
    private readonly activities: ActivityRepository,
    private readonly audit: AuditService,
  ) {}

  onModuleInit() {
    // Idempotency keys are kept at least 24 h; older than 48 h they go.
    this.pruneTimer = setInterval(() => void this.claims.pruneIdempotencyKeys(48).catch(() => undefined), 3_600_000);
    this.pruneTimer.unref();
  }

  onModuleDestroy() {
    clearInterval(this.pruneTimer);
  }

  /**
   * One claim attempt. Every attempt on an existing event is recorded with its outcome; a second
   * pending/approved claim for the same period fails on the unique index, on any instance.
   * Limited stock is reserved by a conditional decrement in the same transaction.
   */
  async claim(player: Principal, eventId: string, idempotencyKey?: string): Promise<Claim> {
    const userId = player.subject;
    try {
      return await withRetry(() =>
        this.database.db.transaction(async (tx) => {
          if (idempotencyKey && !(await this.claims.reserveIdempotencyKey(tx, userId, idempotencyKey, eventId))) {
            return this.replay(tx, userId, idempotencyKey, eventId);
          }
          const claim = await this.decide(tx, player, eventId);
          if (idempotencyKey) await this.claims.storeResponse(tx, userId, idempotencyKey, 201, { claim });
          return claim;
        }),
      );
    } catch (err) {
      if (isUniqueViolation(err, ACTIVE_CLAIM_INDEX)) {
        throw new AppError('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');
      }
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

  private async decide(tx: Db, player: Principal, eventId: string): Promise<Claim> {
    const userId = player.subject;
    // Shared with other claims, exclusive against a change of the frozen fields (see EventsService.update).
    await tx.execute(sql`select pg_advisory_xact_lock_shared(${eventLockKey(eventId)})`);
    const found = await this.events.withRewards(tx, eventId);
    // A draft the player may not see is an unknown event: the throw rolls back the transaction, so
    // neither a claim (which would lock the draft's condition) nor the Idempotency-Key is kept.
    if (!found || !canSee(player, found.event)) throw eventNotFound();
    const { event, rewards } = found;
    const now = new Date();
    const base = { userId, eventId, periodKey: periodKey(event.repeat, now, event.timezone), rewards: snapshotOf(rewards) };

    let reason: ClaimReason | null = null;
    if (!isOpen(event, now)) reason = 'EVENT_NOT_ACTIVE';
    else if (!(await this.conditionMet(tx, userId, event))) reason = 'CONDITION_NOT_MET';

    if (reason === null) {
      const status = event.approval === 'AUTO' ? 'APPROVED' : 'PENDING';
      const decision = { id: randomUUID(), ...base, status, decidedAt: status === 'APPROVED' ? now : null, decidedBy: status === 'APPROVED' ? 'system' : null } as const;
      const stocked = rewards.filter((r) => r.stock !== null);
      if (stocked.length <= 1) {
        const row = await this.claims.insertReservingStock(
          tx,
          decision,
          stocked[0] ? { rewardId: stocked[0].id, quantity: stocked[0].quantity } : undefined,
        );
        if (row) return toClaim(row);
      } else {
        // Several limited rewards: reserve each; if any runs out, the savepoint undoes the others.
        try {
          return await tx.transaction(async (sp) => {
            const row = await this.claims.insert(sp, decision);
            for (const r of stocked) if (!(await this.events.reserveStock(sp, r.id, r.quantity))) throw new OutOfStock();
            if (status === 'APPROVED') await this.grant(sp, row.id, userId, eventId, base.rewards);
            return toClaim(row);
          });
        } catch (err) {
          if (!(err instanceof OutOfStock)) throw err;
        }
      }
      reason = 'OUT_OF_STOCK';
    }
    // A player who already holds this period's claim hears so, rather than a misleading reason.
    if (await this.claims.activeExists(tx, userId, eventId, base.periodKey)) {
      throw new AppError('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');
    }
    const row = await this.claims.insert(tx, { id: randomUUID(), ...base, status: 'REJECTED', reason, decidedAt: now, decidedBy: 'system' });
    return toClaim(row);
  }

  private async conditionMet(tx: Db, userId: string, event: EventRow): Promise<boolean> {
    const facts = await this.activities.facts(
      userId,
      { start: event.startsAt, end: event.endsAt, timeZone: event.timezone },
      factsNeeded(event.condition),
      tx,
    );
    return evaluate(event.condition, facts).met;
  }

  /** Grants are written from the claim's snapshot of its rewards, whichever path approves it. */
  private grant(tx: Db, claimId: string, userId: string, eventId: string, rewards: RewardSnapshot[]) {
    return this.claims.insertGrants(
      tx,
      rewards.map((r) => ({
        id: randomUUID(),
        userId,
        claimId,
        eventId,
        rewardId: r.rewardId,
        type: r.type,
        name: r.name,
        itemCode: r.itemCode,
        quantity: r.quantity,
      })),
    );
  }

  /**
   * The claim a decision applies to, locked: it exists, it is not the decider's own (nobody approves
   * or rejects their own claim, whatever their roles), and it is still PENDING. Every decision path
   * goes through here before it writes anything.
   */
  private async lockForDecision(tx: Db, ctx: AuditContext, claimId: string) {
    const row = await this.claims.lock(tx, claimId);
    if (!row) throw new AppError('NOT_FOUND', 'Claim not found');
    if (row.userId === ctx.actor.subject) throw new AppError('FORBIDDEN', 'You cannot approve or reject your own claim');
    if (row.status !== 'PENDING') throw new AppError('INVALID_STATE', `The claim is ${row.status}, not PENDING`);
    return row;
  }

  async approve(ctx: AuditContext, claimId: string): Promise<Claim> {
    return this.database.db.transaction(async (tx) => {
      const row = await this.lockForDecision(tx, ctx, claimId);
      const decided = await this.claims.decide(tx, claimId, { status: 'APPROVED', reason: null, note: null, decidedBy: ctx.actor.subject });
      await this.grant(tx, claimId, row.userId, row.eventId, row.rewards);
      const claim = toClaim(decided);
      await this.audit.record(tx, ctx, 'claim.approve', { type: 'claim', id: claimId }, toClaim(row), claim);
      return claim;
    });
  }

  async reject(ctx: AuditContext, claimId: string, note: string): Promise<Claim> {
    return this.database.db.transaction(async (tx) => {
      const row = await this.lockForDecision(tx, ctx, claimId);
      const decided = await this.claims.decide(tx, claimId, {
        status: 'REJECTED',
        reason: 'REJECTED_BY_OPERATOR',
        note,
        decidedBy: ctx.actor.subject,
      });
      // The pending claim held its units; they go back to the pool.
      for (const r of row.rewards) await this.events.releaseStock(tx, r.rewardId, r.quantity);
      const claim = toClaim(decided);
      await this.audit.record(tx, ctx, 'claim.reject', { type: 'claim', id: claimId }, toClaim(row), claim);
      return claim;
    });
  }

  async get(viewer: Principal, id: string): Promise<Claim> {
    const row = await this.claims.find(id);
    if (!row || (!isStaff(viewer) && row.userId !== viewer.subject)) throw new AppError('NOT_FOUND', 'Claim not found');
    return toClaim(row);
  }

  list(viewer: Principal, q: ClaimsQuery) {
    if (!isStaff(viewer)) {
      if (q.userId && q.userId !== viewer.subject) return { items: [], nextCursor: null };
      return this.claims.list({ ...q, userId: viewer.subject });
    }
    return this.claims.list(q);
  }

  async progress(viewer: Principal, event: EventRow): Promise<Progress> {
    if (!canSee(viewer, event)) throw eventNotFound();
    const now = new Date();
    const facts = await this.activities.facts(
      viewer.subject,
      { start: event.startsAt, end: event.endsAt, timeZone: event.timezone },
      factsNeeded(event.condition),
    );
    const condition = evaluate(event.condition, facts);
    const claim = await this.claims.latestInPeriod(viewer.subject, event.id, periodKey(event.repeat, now, event.timezone));
    const holds = claim && (claim.status === 'PENDING' || claim.status === 'APPROVED');
    return {
      eventId: event.id,
      eligible: condition.met && isOpen(event, now) && !holds,
      condition,
      claim: claim ? toClaim(claim) : null,
    };
  }

  grants(viewer: Principal, limit: number, cursor?: string) {
    return this.claims.grantsOf(viewer.subject, limit, cursor);
  }
}
