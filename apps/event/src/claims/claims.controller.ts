import { Body, Controller, Headers, Param, Query } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { ClaimsQueryDto, IdParamsDto, PageQueryDto, RejectDto } from '../dto.js';
import { ClaimsService } from './claims.service.js';

@Controller()
export class ClaimsController {
  constructor(private readonly claims: ClaimsService) {}

  @Endpoint(routes.createClaim)
  async create(@CurrentPrincipal() player: Principal, @Param() { id }: IdParamsDto, @Headers('idempotency-key') key?: string) {
    return { claim: await this.claims.claim(player, id, key) };
  }

  @Endpoint(routes.listClaims)
  list(@CurrentPrincipal() viewer: Principal, @Query() query: ClaimsQueryDto) {
    return this.claims.list(viewer, query);
  }

  @Endpoint(routes.getClaim)
  async get(@CurrentPrincipal() viewer: Principal, @Param() { id }: IdParamsDto) {
    return { claim: await this.claims.get(viewer, id) };
  }

  @Endpoint(routes.approveClaim)
  async approve(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() { id }: IdParamsDto) {
    return { claim: await this.claims.approve({ actor, requestId }, id) };
  }

  @Endpoint(routes.rejectClaim)
  async reject(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() { id }: IdParamsDto, @Body() body: RejectDto) {
    return { claim: await this.claims.reject({ actor, requestId }, id, body.reason) };
  }

  @Endpoint(routes.myRewards)
  myRewards(@CurrentPrincipal() viewer: Principal, @Query() query: PageQueryDto) {
    return this.claims.grants(viewer, query.limit, query.cursor);
  }
}
