import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Claim, ClaimsQuery } from '@rewards/contracts';
import { AppError, isUniqueViolation, withRetry, type Principal } from '@rewards/infrastructure';
import { UnitOfWork, type Db } from '@rewards/infrastructure/persistence';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import {
  byRewardId,
  claimOf,
  decideClaim,
  needsFacts,
  outOfStock,
  type ClaimDecision,
  type StockNeed,
} from '../domain/claim-decision.js';
import { canSee, canSeeClaim, isStaff } from '../domain/visibility.js';
import { EventDefinitions, type EventDefinition } from '../events/event-definitions.js';
import { EventRepository } from '../events/event.repository.js';
import { eventNotFound } from '../events/events.service.js';
import type { EventRow } from '../schema.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.service.js';
import { ClaimWriter } from './claim-writer.js';
import { FactsReader } from './facts-reader.js';
import {
  ACTIVE_CLAIM_INDEX,
  ClaimRepository,
  IDEMPOTENCY_KEY_INDEX,
  toClaim,
  type WriteOutcome,
} from './claim.repository.js';

const alreadyClaimed = () =>
  new AppError('ALREADY_CLAIMED', 'A pending or approved claim exists for this event and period');

/** Decisions made on a definition another instance had just changed, before giving up. */
const STALE_ATTEMPTS = 5;

@Injectable()
export class ClaimsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly events: EventRepository,
    private readonly definitions: EventDefinitions,
    private readonly claims: ClaimRepository,
    private readonly writer: ClaimWriter,
    private readonly factsReader: FactsReader,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * One claim attempt: a read of the player's facts, then one write (ClaimRepository.write), on the
   * event's definition as this instance keeps it. Every attempt on an existing event is recorded
   * with its outcome; a second pending/approved claim for the same period fails on the unique
   * index, on any instance. A definition that changed meanwhile is read again and the attempt decided again.
   */
  async claim(player: Principal, eventId: string, idempotencyKey?: string): Promise<Claim> {
    const id = eventId.toLowerCase();
    for (let attempt = 1; ; attempt++) {
      // A kept definition may be older than the change that made the event visible: read before a 404.
      let definition = await (attempt === 1
        ? this.definitions.get(this.uow.db, id)
        : this.definitions.read(this.uow.db, id));
      if (definition && !canSee(player, definition.event) && attempt === 1)
        definition = await this.definitions.read(this.uow.db, id);
      if (!definition || !canSee(player, definition.event)) throw eventNotFound();
      const decided = await this.attempt(player, definition, idempotencyKey);
      if (decided) return decided;
      if (attempt === STALE_ATTEMPTS) throw new AppError('UNAVAILABLE', 'The event is being changed; retry shortly');
    }
  }

  /** Decides and writes one attempt; undefined when the definition was stale. */
  private async attempt(
    player: Principal,
    { event, rewards }: EventDefinition,
    key?: string,
  ): Promise<Claim | undefined> {
    const userId = player.subject;
    const now = new Date();
    const facts = needsFacts(event, now) ? await this.factsReader.read(userId, event) : undefined;
    const decision = decideClaim(event, rewards, facts, now);
    const write = (d: ClaimDecision, waitForStock: boolean) =>
      this.write(event, claimOf(d, { id: randomUUID(), eventId: event.id, userId, now }), d.stock, waitForStock, key);
    let result = await write(decision, false);
    // Every counter with units was held by claims in flight: wait for them.
    if ('why' in result && result.why === 'short') result = await write(decision, true);
    if ('why' in result && result.why === 'short') result = await write(outOfStock(decision), false);
    if ('why' in result) {
      if (result.why === 'stale') return undefined;
      // A player who already holds this period's claim hears so, rather than a misleading reason;
      // unless this key was answered before (perhaps with the very claim the player holds).
      return this.refuseAsClaimed(event.id, userId, key);
    }
    this.outbox.committed(result.messages);
    return result.claim;
  }

  /**
   * Writes a decided claim; a replayed Idempotency-Key answers the first response instead. Throws
   * ALREADY_CLAIMED for a second pending/approved claim in the period.
   */
  private async write(
    event: EventRow,
    claim: Claim,
    stock: readonly StockNeed[],
    waitForStock: boolean,
    key: string | undefined,
  ): Promise<{ claim: Claim; messages: number } | { why: 'stale' | 'short' | 'active' }> {
    let outcome: WriteOutcome;
    try {
      outcome = await withRetry(() =>
        this.writer.write({
          claim,
          eventVersion: event.version,
          stock,
          waitForStock,
          idempotencyKey: key,
          message: this.outbox.messageOf(claim),
        }),
      );
    } catch (err) {
      if (isUniqueViolation(err, ACTIVE_CLAIM_INDEX))
        return { claim: await this.refuseAsClaimed(claim.eventId, claim.userId, key), messages: 0 };
      if (key !== undefined && isUniqueViolation(err, IDEMPOTENCY_KEY_INDEX))
        return { claim: await this.replay(claim.eventId, claim.userId, key), messages: 0 };
      throw err;
    }
    return outcome.written ? { claim, messages: outcome.messages } : { why: outcome.why };
  }

  /**
   * ALREADY_CLAIMED, kept as this key's answer: a replay of the key is refused the same way even once
   * the held claim is gone. A key already answered gets that answer instead.
   */
  private async refuseAsClaimed(eventId: string, userId: string, key: string | undefined): Promise<Claim> {
    const refusal = alreadyClaimed();
    if (key === undefined) throw refusal;
    const body = { error: { code: refusal.code, message: refusal.message } };
    if (await this.claims.keepRefusal(this.uow.db, { userId, key, eventId, status: refusal.status, body }))
      throw refusal;
    return this.replay(eventId, userId, key);
  }

  /**
   * The first response to a request with this key: its claim, or the refusal it got (thrown); a
   * conflict when the key was used for another event.
   */
  private async replay(eventId: string, userId: string, key: string): Promise<Claim> {
    const stored = await this.claims.storedResponse(this.uow.db, userId, key);
    if (!stored || stored.eventId !== eventId || stored.status === null) {
      throw new AppError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used for a different request');
    }
    if (stored.status === 409) throw alreadyClaimed();
    return (stored.body as { claim: Claim }).claim;
  }

  /** The decision's webhook messages, in its transaction. */
  private async announce(tx: Db, claim: Claim): Promise<{ claim: Claim; messages: number }> {
    return { claim, messages: await this.outbox.claimDecided(tx, claim) };
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
    const { claim, messages } = await withRetry(() =>
      this.uow.transaction(async (tx) => {
        const row = await this.lockForDecision(tx, ctx, claimId);
        const decided = await this.claims.approve(tx, claimId, ctx.actor.subject);
        // Before the audit entry, which holds the audit log's lock until the commit.
        const decision = await this.announce(tx, toClaim(decided));
        await this.audit.record(tx, ctx, 'claim.approve', { type: 'claim', id: claimId }, toClaim(row), decision.claim);
        return decision;
      }),
    );
    this.outbox.committed(messages);
    return claim;
  }

  async reject(ctx: AuditContext, claimId: string, note: string): Promise<Claim> {
    const { claim, messages } = await withRetry(() =>
      this.uow.transaction(async (tx) => {
        const row = await this.lockForDecision(tx, ctx, claimId);
        const decided = await this.claims.recordDecision(tx, claimId, {
          status: 'REJECTED',
          reason: 'REJECTED_BY_OPERATOR',
          note,
          decidedBy: ctx.actor.subject,
        });
        // The pending claim held its units; they go back to the pool, counters locked in the order
        // claims lock them (reward id), so a claim waiting on counters cannot deadlock with this.
        const held = [...row.rewards].sort(byRewardId);
        for (const r of held) await this.events.releaseStock(tx, r.rewardId, r.quantity);
        // Before the audit entry, which holds the audit log's lock until the commit.
        const decision = await this.announce(tx, toClaim(decided));
        await this.audit.record(tx, ctx, 'claim.reject', { type: 'claim', id: claimId }, toClaim(row), decision.claim);
        return decision;
      }),
    );
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
