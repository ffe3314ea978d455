import { Injectable } from '@nestjs/common';
import type { Progress } from '@rewards/contracts';
import type { Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { ActivityRepository } from '../activities/activity.repository.js';
import { ClaimRepository, toClaim } from '../claims/claim.repository.js';
import { periodKey } from '../domain/calendar.js';
import { evaluate, factsNeeded } from '../domain/condition-evaluator.js';
import { isOpen } from '../domain/event-status.js';
import { EventsService } from './events.service.js';

/** A player's standing on one event: the condition's progress, and whether a claim would succeed now. */
@Injectable()
export class ProgressService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly events: EventsService,
    private readonly activities: ActivityRepository,
    private readonly claims: ClaimRepository,
  ) {}

  async progress(viewer: Principal, eventId: string): Promise<Progress> {
    const { row: event } = await this.events.visible(viewer, eventId);
    const now = new Date();
    const facts = await this.activities.facts(
      this.uow.db,
      viewer.subject,
      { start: event.startsAt, end: event.endsAt, timeZone: event.timezone },
      factsNeeded(event.condition),
    );
    const condition = evaluate(event.condition, facts);
    const period = periodKey(event.repeat, now, event.timezone);
    const claim = await this.claims.latestInPeriod(this.uow.db, viewer.subject, event.id, period);
    const holds = claim && (claim.status === 'PENDING' || claim.status === 'APPROVED');
    return {
      eventId: event.id,
      eligible: condition.met && isOpen(event, now) && !holds,
      condition,
      claim: claim ? toClaim(claim) : null,
    };
  }
}
