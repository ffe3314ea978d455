import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { UsersService } from './users.service.js';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Endpoint(routes.listUsers)
  list(@Input() { query }: InputOf<typeof routes.listUsers>) {
    return this.users.list(query);
  }

  @Endpoint(routes.setRoles)
  async setRoles(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params, body }: InputOf<typeof routes.setRoles>,
  ) {
    const { after } = await this.users.setRoles(actor, requestId, params.id, body.roles);
    return { user: after };
  }
}
