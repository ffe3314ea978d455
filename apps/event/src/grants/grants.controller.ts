import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { Endpoint, Input, type InputOf } from '@rewards/infrastructure';
import { GrantsService } from './grants.service.js';

@Controller()
export class GrantsController {
  constructor(private readonly grants: GrantsService) {}

  @Endpoint(routes.grantsFeed)
  feed(@Input() { query }: InputOf<typeof routes.grantsFeed>) {
    return this.grants.feed(query);
  }
}
