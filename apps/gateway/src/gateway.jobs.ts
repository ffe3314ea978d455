import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { RemoteTokenVerifier } from '@rewards/infrastructure';
import type { MetricsServer } from './metrics.server.js';
import type { UpstreamRegistry } from './upstream.registry.js';

export const GATEWAY_JOBS = Symbol('GATEWAY_JOBS');

export interface GatewayJobsOptions {
  upstreams: UpstreamRegistry;
  verifier: RemoteTokenVerifier;
  metrics: { server: MetricsServer; port: number; host: string };
}

/**
 * What the gateway runs besides answering requests, started and stopped with the app: the upstream
 * health probes, the token verifier's key refresh and revocation polling, and the metrics listener.
 */
@Injectable()
export class GatewayJobs implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(GATEWAY_JOBS) private readonly opts: GatewayJobsOptions) {}

  async onApplicationBootstrap(): Promise<void> {
    const { metrics } = this.opts;
    // Not on the public port: metrics have their own listener, loopback unless METRICS_HOST says otherwise.
    await metrics.server.listen(metrics.port, metrics.host);
    this.opts.upstreams.start();
    this.opts.verifier.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.opts.verifier.stop();
    await Promise.all([this.opts.upstreams.close(), this.opts.metrics.server.close()]);
  }
}
