import { Body, Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, RequestId, type Principal } from '@rewards/infrastructure';
import { CreateApiKeyDto } from '../dto.js';
import { ApiKeysService } from './api-keys.service.js';

@Controller()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Endpoint(routes.createApiKey)
  create(@CurrentPrincipal() actor: Principal, @RequestId() requestId: string, @Body() body: CreateApiKeyDto) {
    return this.apiKeys.create(actor, requestId, body.name);
  }
}
