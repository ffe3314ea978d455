import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { CreateEventBody, CreateRewardBody, Event, EventStatus, Reward, UpdateEventBody } from '@rewards/contracts';
import { AppError, type Principal } from '@rewards/infrastructure';
import { DATABASE, type Database } from '@rewards/infrastructure/persistence';
import { isDeepStrictEqual } from 'node:util';
import { sql } from 'drizzle-orm';
import { ActivityRepository } from '../activities/activity.repository.js';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { canMove } from '../domain/event-status.js';
import { eventLockKey, EventRepository, toEvent, toReward } from './event.repository.js';

export const DEFAULT_TIMEZONE = 'Asia/Seoul';
export const isStaff = (p: Principal) => p.roles.some((r) => r === 'OPERATOR' || r === 'AUDITOR' || r === 'ADMIN');

/**
 * The one visibility rule for everything under /events/{id}: for a player a DRAFT does not exist.
 * Every path that reads an event for a caller (reads, progress, claims) asks this before acting, and
 * answers exactly as for an unknown id.
 */
export const canSee = (viewer: Principal, event: { status: EventStatus }) => event.status !== 'DRAFT' || isStaff(viewer);
export const eventNotFound = () => new AppError('NOT_FOUND', 'Event not found');

/** Fields that decide who may claim what: frozen once the first claim exists. */
const FROZEN = ['condition', 'repeat', 'timezone'] as const;

@Injectable()
export class EventsService {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    private readonly events: EventRepository,
    private readonly audit: AuditService,
    private readonly activities: ActivityRepository,
  ) {}

  /** Every day count runs `at time zone` in SQL: a zone the database does not know would fail each one with a 500. */
  private async assertKnownTimeZone(timeZone: string | undefined): Promise<void> {
    if (timeZone === undefined || (await this.events.knowsTimeZone(timeZone))) return;
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
      { path: 'timezone', code: 'custom', message: 'must be an IANA time zone such as Asia/Seoul' },
    ]);
  }

  async create(ctx: AuditContext, body: CreateEventBody): Promise<Event> {
    await this.assertKnownTimeZone(body.timezone);
    return this.database.db.transaction(async (tx) => {
      await this.activities.trackZone(tx, body.timezone ?? DEFAULT_TIMEZONE);
      const row = await this.events.insert(tx, {
        id: randomUUID(),
        title: body.title,
        description: body.description ?? null,
        startsAt: new Date(body.startsAt),
        endsAt: new Date(body.endsAt),
        timezone: body.timezone ?? DEFAULT_TIMEZONE,
        status: body.status ?? 'DRAFT',
        condition: body.condition,
        approval: body.approval ?? 'AUTO',
        repeat: body.repeat ?? 'NONE',
        createdBy: ctx.actor.subject,
      });
      const event = toEvent(row, false, []);
      await this.audit.record(tx, ctx, 'event.create', { type: 'event', id: row.id }, null, event);
      return event;
    });
  }

  /** An event as the caller may see it; players never see drafts. */
  async visible(viewer: Principal, id: string) {
    const found = await this.events.find(id);
    if (!found || !canSee(viewer, found.row)) throw eventNotFound();
    return found;
  }

  async get(viewer: Principal, id: string): Promise<Event> {
    const found = await this.visible(viewer, id);
    return toEvent(found.row, found.locked, await this.events.rewards(id));
  }

  list(viewer: Principal, q: { status?: EventStatus; limit: number; cursor?: string }) {
    return this.events.list({ ...q, hideDrafts: !isStaff(viewer) });
  }

  async update(ctx: AuditContext, id: string, body: UpdateEventBody): Promise<Event> {
    await this.assertKnownTimeZone(body.timezone);
    return this.database.db.transaction(async (tx) => {
      // Exclusive against claims in flight (they hold it shared), so "no claim yet" stays true until commit.
      await tx.execute(sql`select pg_advisory_xact_lock(${eventLockKey(id)})`);
      const found = await this.events.find(id, tx);
      if (!found) throw new AppError('NOT_FOUND', 'Event not found');
      const { row, locked } = found;
      if (body.status && !canMove(row.status, body.status)) {
        throw new AppError('INVALID_STATE', `An event cannot move from ${row.status} to ${body.status}`);
      }
      const changed = FROZEN.filter((f) => body[f] !== undefined && !isDeepStrictEqual(body[f], row[f]));
      if (locked && changed.length) {
        throw new AppError('EVENT_LOCKED', `Claims exist: ${changed.join(', ')} can no longer change`, { fields: changed });
      }
      const startsAt = body.startsAt ? new Date(body.startsAt) : row.startsAt;
      const endsAt = body.endsAt ? new Date(body.endsAt) : row.endsAt;
      if (endsAt <= startsAt) {
        throw new AppError('VALIDATION_FAILED', 'Request is invalid', [{ path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' }]);
      }
      if (body.timezone !== undefined) await this.activities.trackZone(tx, body.timezone);
      const updated = await this.events.update(tx, id, {
        ...(body.title !== undefined ? { title: body.title } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        startsAt,
        endsAt,
        ...(body.timezone !== undefined ? { timezone: body.timezone } : {}),
        ...(body.condition !== undefined ? { condition: body.condition } : {}),
        ...(body.approval !== undefined ? { approval: body.approval } : {}),
        ...(body.repeat !== undefined ? { repeat: body.repeat } : {}),
        ...(body.status !== undefined ? { status: body.status } : {}),
      });
      const rewards = await this.events.rewards(id, tx);
      const before = toEvent(row, locked);
      const after = toEvent(updated, locked);
      await this.audit.record(tx, ctx, 'event.update', { type: 'event', id }, before, after);
      return { ...after, rewards: rewards.map(toReward) };
    });
  }

  async addReward(ctx: AuditContext, eventId: string, body: CreateRewardBody): Promise<Reward> {
    return this.database.db.transaction(async (tx) => {
      const found = await this.events.find(eventId, tx);
      if (!found) throw new AppError('NOT_FOUND', 'Event not found');
      if (found.row.status === 'ENDED') throw new AppError('INVALID_STATE', 'The event has ended');
      const stock = body.stock ?? null;
      const row = await this.events.insertReward(tx, {
        id: randomUUID(),
        eventId,
        type: body.type,
        name: body.name,
        itemCode: body.itemCode ?? null,
        quantity: body.quantity,
        stock,
        remaining: stock,
      });
      const reward = toReward(row);
      await this.audit.record(tx, ctx, 'reward.create', { type: 'reward', id: row.id }, null, reward);
      return reward;
    });
  }

  async rewards(viewer: Principal, eventId: string): Promise<Reward[]> {
    await this.visible(viewer, eventId);
    return (await this.events.rewards(eventId)).map(toReward);
  }
}
