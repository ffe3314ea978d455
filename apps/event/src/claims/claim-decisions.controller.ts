import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { ClaimDecisionsService } from './claim-decisions.service.js';

@Controller()
export class ClaimDecisionsController {
  constructor(private readonly decisions: ClaimDecisionsService) {}

  @Endpoint(routes.decideClaims)
  decide(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { body }: InputOf<typeof routes.decideClaims>,
  ) {
    return this.decisions.decide({ actor, requestId }, body);
  }
}
