import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { CurrentPrincipal, Endpoint, Input, RequestId, type InputOf, type Principal } from '@rewards/infrastructure';
import { ApiKeysService } from './api-keys.service.js';

@Controller()
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Endpoint(routes.createApiKey)
  create(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { body }: InputOf<typeof routes.createApiKey>,
  ) {
    return this.apiKeys.create(actor, requestId, body);
  }

  @Endpoint(routes.listApiKeys)
  list(@Input() { query }: InputOf<typeof routes.listApiKeys>) {
    return this.apiKeys.list(query);
  }

  @Endpoint(routes.revokeApiKey)
  async revoke(
    @CurrentPrincipal() actor: Principal,
    @RequestId() requestId: string,
    @Input() { params }: InputOf<typeof routes.revokeApiKey>,
  ) {
    await this.apiKeys.revoke(actor, requestId, params.id);
  }
}
