import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import type { CreateEventBody, CreateRewardBody, Event, EventStatus, Reward } from '@rewards/contracts';
import type { UpdateEventBody } from '@rewards/contracts';
import { AppError, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { ActivityRepository } from '../activities/activity.repository.js';
import { AuditService, type AuditContext } from '../audit/audit.service.js';
import { canMove } from '../domain/event-status.js';
import { canSee, isStaff } from '../domain/visibility.js';
import { EventRepository, toEvent, toReward } from './event.repository.js';

export const DEFAULT_TIMEZONE = 'Asia/Seoul';

/** What an event the caller may not see answers (see `canSee`): exactly what an unknown id does. */
export const eventNotFound = () => new AppError('NOT_FOUND', 'Event not found');

/** Fields that decide who may claim what: frozen once the first claim exists. */
const FROZEN = ['condition', 'repeat', 'timezone'] as const;

@Injectable()
export class EventsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly events: EventRepository,
    private readonly audit: AuditService,
    private readonly activities: ActivityRepository,
  ) {}

  /**
   * Every day count runs `at time zone` in SQL: a zone the database does not know would fail each
   * one with a 500. Asked outside the transaction, which the failed statement would abort.
   */
  private async assertKnownTimeZone(timeZone: string | undefined): Promise<void> {
    if (timeZone === undefined || (await this.events.knowsTimeZone(this.uow.db, timeZone))) return;
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
      { path: 'timezone', code: 'custom', message: 'must be an IANA time zone such as Asia/Seoul' },
    ]);
  }

  async create(ctx: AuditContext, body: CreateEventBody): Promise<Event> {
    await this.assertKnownTimeZone(body.timezone);
    return this.uow.transaction(async (tx) => {
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
    const found = await this.events.find(this.uow.db, id);
    if (!found || !canSee(viewer, found.row)) throw eventNotFound();
    return found;
  }

  async get(viewer: Principal, id: string): Promise<Event> {
    const found = await this.visible(viewer, id);
    return toEvent(found.row, found.locked, await this.events.rewards(this.uow.db, id));
  }

  list(viewer: Principal, q: { status?: EventStatus; limit: number; cursor?: string }) {
    return this.events.list(this.uow.db, { ...q, hideDrafts: !isStaff(viewer) });
  }

  async update(ctx: AuditContext, id: string, body: UpdateEventBody): Promise<Event> {
    await this.assertKnownTimeZone(body.timezone);
    return this.uow.transaction(async (tx) => {
      // Exclusive against claims in flight (they hold it shared), so "no claim yet" stays true until commit.
      await this.events.lockExclusive(tx, id);
      const found = await this.events.find(tx, id);
      if (!found) throw new AppError('NOT_FOUND', 'Event not found');
      const { row, locked } = found;
      if (body.status && !canMove(row.status, body.status)) {
        throw new AppError('INVALID_STATE', `An event cannot move from ${row.status} to ${body.status}`);
      }
      const changed = FROZEN.filter((f) => body[f] !== undefined && !isDeepStrictEqual(body[f], row[f]));
      if (locked && changed.length) {
        const message = `Claims exist: ${changed.join(', ')} can no longer change`;
        throw new AppError('EVENT_LOCKED', message, { fields: changed });
      }
      const startsAt = body.startsAt ? new Date(body.startsAt) : row.startsAt;
      const endsAt = body.endsAt ? new Date(body.endsAt) : row.endsAt;
      if (endsAt <= startsAt) {
        throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
          { path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' },
        ]);
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
      const rewards = await this.events.rewards(tx, id);
      const before = toEvent(row, locked);
      const after = toEvent(updated, locked);
      await this.audit.record(tx, ctx, 'event.update', { type: 'event', id }, before, after);
      return { ...after, rewards: rewards.map(toReward) };
    });
  }

  async addReward(ctx: AuditContext, eventId: string, body: CreateRewardBody): Promise<Reward> {
    return this.uow.transaction(async (tx) => {
      const found = await this.events.find(tx, eventId);
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
      });
      const reward = toReward(row);
      await this.audit.record(tx, ctx, 'reward.create', { type: 'reward', id: row.id }, null, reward);
      return reward;
    });
  }

  async rewards(viewer: Principal, eventId: string): Promise<Reward[]> {
    await this.visible(viewer, eventId);
    return (await this.events.rewards(this.uow.db, eventId)).map(toReward);
  }
}
