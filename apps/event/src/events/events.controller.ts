import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { EventsService } from './events.service.js';
import { ProgressService } from './progress.service.js';

@Controller()
export class EventsController {
  constructor(
    private readonly events: EventsService,
    private readonly progressOf: ProgressService,
  ) {}

  @Endpoint(routes.createEvent)
  async create(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { body }: InputOf<typeof routes.createEvent>,
  ) {
    return { event: await this.events.create({ actor, requestId }, body) };
  }

  @Endpoint(routes.listEvents)
  list(@CurrentPrincipal() viewer: Principal, @Input() { query }: InputOf<typeof routes.listEvents>) {
    return this.events.list(viewer, query);
  }

  @Endpoint(routes.getEvent)
  async get(@CurrentPrincipal() viewer: Principal, @Input() { params }: InputOf<typeof routes.getEvent>) {
    return { event: await this.events.get(viewer, params.id) };
  }

  @Endpoint(routes.updateEvent)
  async update(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params, body }: InputOf<typeof routes.updateEvent>,
  ) {
    return { event: await this.events.update({ actor, requestId }, params.id, body) };
  }

  @Endpoint(routes.createReward)
  async addReward(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params, body }: InputOf<typeof routes.createReward>,
  ) {
    return { reward: await this.events.addReward({ actor, requestId }, params.id, body) };
  }

  @Endpoint(routes.listRewards)
  async rewards(@CurrentPrincipal() viewer: Principal, @Input() { params }: InputOf<typeof routes.listRewards>) {
    return { items: await this.events.rewards(viewer, params.id) };
  }

  @Endpoint(routes.progress)
  progress(@CurrentPrincipal() viewer: Principal, @Input() { params }: InputOf<typeof routes.progress>) {
    return this.progressOf.progress(viewer, params.id);
  }
}
