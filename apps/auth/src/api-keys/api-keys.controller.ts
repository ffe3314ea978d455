import { Body, Controller, Param, Query } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { ApiKeysQueryDto, CreateApiKeyDto, IdParamsDto } from '../dto.js';
import { ApiKeysService } from './api-keys.service.js';

@Controller()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Endpoint(routes.createApiKey)
  create(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Body() body: CreateApiKeyDto) {
    return this.apiKeys.create(actor, requestId, body);
  }

  @Endpoint(routes.listApiKeys)
  list(@Query() query: ApiKeysQueryDto) {
    return this.apiKeys.list(query);
  }

  @Endpoint(routes.revokeApiKey)
  async revoke(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Param() params: IdParamsDto) {
    await this.apiKeys.revoke(actor, requestId, params.id);
  }
}
