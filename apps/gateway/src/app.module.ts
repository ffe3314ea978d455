import { type DynamicModule, Module } from '@nestjs/common';
import { TOKEN_VERIFIER } from '@rewards/infrastructure';
import { GATEWAY_JOBS, GatewayJobs, type GatewayJobsOptions } from './gateway.jobs.js';
import { OpsController, UPSTREAMS } from './ops.controller.js';

@Module({})
export class GatewayModule {
  static register(jobs: GatewayJobsOptions): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [OpsController],
      providers: [
        { provide: UPSTREAMS, useValue: jobs.upstreams },
        { provide: TOKEN_VERIFIER, useValue: jobs.verifier },
        { provide: GATEWAY_JOBS, useValue: jobs },
        GatewayJobs,
      ],
    };
  }
}
