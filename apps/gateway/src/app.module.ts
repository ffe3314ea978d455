import { type DynamicModule, Module } from '@nestjs/common';
import { METRICS, TOKEN_VERIFIER, type Metrics, type TokenVerifier } from '@rewards/infrastructure';
import { OpsController, UPSTREAMS } from './ops.controller.js';
import type { Upstreams } from './upstreams.js';

@Module({})
export class GatewayModule {
  static register(upstreams: Upstreams, metrics: Metrics, verifier: TokenVerifier): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [OpsController],
      providers: [
        { provide: UPSTREAMS, useValue: upstreams },
        { provide: METRICS, useValue: metrics },
        { provide: TOKEN_VERIFIER, useValue: verifier },
      ],
    };
  }
}
