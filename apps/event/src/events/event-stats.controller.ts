import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { Endpoint, Input, type InputOf } from '@rewards/infrastructure';
import { EventStatsService } from './event-stats.service.js';

@Controller()
export class EventStatsController {
  constructor(private readonly statsOf: EventStatsService) {}

  @Endpoint(routes.eventStats)
  stats(@Input() { params }: InputOf<typeof routes.eventStats>) {
    return this.statsOf.stats(params.id);
  }
}
