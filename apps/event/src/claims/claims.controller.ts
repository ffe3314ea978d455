import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { ClaimsService } from './claims.service.js';

@Controller()
export class ClaimsController {
  constructor(private readonly claims: ClaimsService) {}

  @Endpoint(routes.createClaim)
  async create(
    @CurrentPrincipal() player: Principal,
    @Input() { params, headers }: InputOf<typeof routes.createClaim>,
  ) {
    return { claim: await this.claims.claim(player, params.id, headers['Idempotency-Key']) };
  }

  @Endpoint(routes.listClaims)
  list(@CurrentPrincipal() viewer: Principal, @Input() { query }: InputOf<typeof routes.listClaims>) {
    return this.claims.list(viewer, query);
  }

  @Endpoint(routes.getClaim)
  async get(@CurrentPrincipal() viewer: Principal, @Input() { params }: InputOf<typeof routes.getClaim>) {
    return { claim: await this.claims.get(viewer, params.id) };
  }

  @Endpoint(routes.approveClaim)
  async approve(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.approveClaim>,
  ) {
    return { claim: await this.claims.approve({ actor, requestId }, params.id) };
  }

  @Endpoint(routes.rejectClaim)
  async reject(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params, body }: InputOf<typeof routes.rejectClaim>,
  ) {
    return { claim: await this.claims.reject({ actor, requestId }, params.id, body.reason) };
  }

  @Endpoint(routes.myRewards)
  myRewards(@CurrentPrincipal() viewer: Principal, @Input() { query }: InputOf<typeof routes.myRewards>) {
    return this.claims.grants(viewer, query.limit, query.cursor);
  }
}
