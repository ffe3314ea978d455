import { Body, Controller, Param, Query } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { ClaimsService } from '../claims/claims.service.js';
import { CreateEventDto, CreateRewardDto, EventsQueryDto, IdParamsDto, UpdateEventDto } from '../dto.js';
import { EventsService } from './events.service.js';

@Controller()
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly claims: ClaimsService,
  ) {}

  @Endpoint(routes.createEvent)
  async create(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Body() body: CreateEventDto) {
    return { event: await this.events.create({ actor, requestId }, body) };
  }

  @Endpoint(routes.listEvents)
  list(@CurrentPrincipal() viewer: Principal, @Query() query: EventsQueryDto) {
    return this.events.list(viewer, query);
  }

  @Endpoint(routes.getEvent)
  async get(@CurrentPrincipal() viewer: Principal, @Param() { id }: IdParamsDto) {
    return { event: await this.events.get(viewer, id) };
  }

  @Endpoint(routes.updateEvent)
  async update(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() { id }: IdParamsDto, @Body() body: UpdateEventDto) {
    return { event: await this.events.update({ actor, requestId }, id, body) };
  }

  @Endpoint(routes.createReward)
  async addReward(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() { id }: IdParamsDto, @Body() body: CreateRewardDto) {
    return { reward: await this.events.addReward({ actor, requestId }, id, body) };
  }

  @Endpoint(routes.listRewards)
  async rewards(@CurrentPrincipal() viewer: Principal, @Param() { id }: IdParamsDto) {
    return { items: await this.events.rewards(viewer, id) };
  }

  @Endpoint(routes.progress)
  async progress(@CurrentPrincipal() viewer: Principal, @Param() { id }: IdParamsDto) {
    const { row } = await this.events.visible(viewer, id);
    return this.claims.progress(viewer, row);
  }
}
