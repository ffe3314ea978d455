import { Body, Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { ActivitiesDto } from '../dto.js';
import { ActivitiesService } from './activities.service.js';

@Controller()
export class ActivitiesController {
  constructor(private readonly activities: ActivitiesService) {}

  @Endpoint(routes.ingestActivities)
  ingest(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Body() body: ActivitiesDto) {
    return this.activities.ingest({ actor, requestId }, body.activities);
  }
}
