import { type DynamicModule, Module } from '@nestjs/common';
import { METRICS, type Metrics } from '@rewards/infrastructure';
import { OpsController, UPSTREAMS } from './ops.controller.js';
import type { Upstreams } from './upstreams.js';

@Module({})
export class GatewayModule {
  static register(upstreams: Upstreams, metrics: Metrics): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [OpsController],
      providers: [
        { provide: UPSTREAMS, useValue: upstreams },
        { provide: METRICS, useValue: metrics },
      ],
    };
  }
}
