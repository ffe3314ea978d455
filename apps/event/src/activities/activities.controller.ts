import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { ActivitiesService } from './activities.service.js';

@Controller()
export class ActivitiesController {
  constructor(private readonly activities: ActivitiesService) {}

  @Endpoint(routes.ingestActivities)
  ingest(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { body }: InputOf<typeof routes.ingestActivities>,
  ) {
    return this.activities.ingest({ actor, requestId }, body.activities);
  }
}
