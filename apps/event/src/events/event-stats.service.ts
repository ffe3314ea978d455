import { Injectable } from '@nestjs/common';
import { CLAIM_REASONS, type ClaimReason, type EventStats } from '@rewards/contracts';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { eventNotFound } from './events.service.js';
import { EventStatsRepository } from './event-stats.repository.js';

/** Per-event statistics for operators, auditors and admins (who see every event, drafts included). */
@Injectable()
export class EventStatsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: EventStatsRepository,
  ) {}

  async stats(eventId: string): Promise<EventStats> {
    const row = await this.repo.stats(this.uow.db, eventId);
    if (!row) throw eventNotFound();
    const count = (from: Record<string, number>, key: string) => from[key] ?? 0;
    return {
      eventId,
      claims: {
        PENDING: count(row.claims, 'PENDING'),
        APPROVED: count(row.claims, 'APPROVED'),
        REJECTED: count(row.claims, 'REJECTED'),
      },
      reasons: Object.fromEntries(CLAIM_REASONS.map((r) => [r, count(row.reasons, r)])) as Record<ClaimReason, number>,
      players: row.players,
      rewards: row.rewards,
    };
  }
}
