import { Body, Controller, Param, Query } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { IdParamsDto, SetRolesDto, UsersQueryDto } from '../dto.js';
import { UsersService } from './users.service.js';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Endpoint(routes.listUsers)
  list(@Query() query: UsersQueryDto) {
    return this.users.list(query);
  }

  @Endpoint(routes.setRoles)
  async setRoles(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() params: IdParamsDto, @Body() body: SetRolesDto) {
    const { after } = await this.users.setRoles(actor, requestId, params.id, body.roles);
    return { user: after };
  }
}
