import { type DynamicModule, Module } from '@nestjs/common';
import { TOKEN_VERIFIER, type TokenVerifier } from '@rewards/infrastructure';
import { OpsController, UPSTREAMS } from './ops.controller.js';
import type { Upstreams } from './upstreams.js';

@Module({})
export class GatewayModule {
  static register(upstreams: Upstreams, verifier: TokenVerifier): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [OpsController],
      providers: [
        { provide: UPSTREAMS, useValue: upstreams },
        { provide: TOKEN_VERIFIER, useValue: verifier },
      ],
    };
  }
}
