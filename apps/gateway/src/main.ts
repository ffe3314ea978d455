import 'reflect-metadata';
import fastifyStatic from '@fastify/static';
import { createLogger, createMetrics, createServiceApp, listen, RemoteTokenVerifier } from '@rewards/infrastructure';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { GatewayModule } from './app.module.js';
import { defaultConsoleRoot, registerConsole } from './console.site.js';
import { loadGatewayConfig } from './config.js';
import { MetricsServer } from './metrics.server.js';
import { ApiProxy, registerApiProxy } from './api.proxy.js';
import { UpstreamRegistry } from './upstream.registry.js';

const config = loadGatewayConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);

async function main() {
  const upstreams = new UpstreamRegistry({ auth: config.AUTH_SERVICE_URL, event: config.EVENT_SERVICE_URL }, logger);
  const verifier = new RemoteTokenVerifier({
    authUrls: config.AUTH_SERVICE_URL,
    internalSecret: config.INTERNAL_SECRET,
    logger,
  });
  const proxy = new ApiProxy({
    upstreams,
    verifier,
    internalSecret: config.INTERNAL_SECRET,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    logger,
    claimRateLimitPerMinute: config.CLAIM_RATE_LIMIT_PER_MINUTE,
  });
  const metrics = createMetrics('gateway');
  const metricsServer = new MetricsServer(metrics, logger);
  const app = await createServiceApp(
    GatewayModule.register({
      upstreams,
      verifier,
      metrics: { server: metricsServer, port: config.METRICS_PORT, host: config.METRICS_HOST },
    }),
    { service: 'gateway', logger, trustProxy: config.TRUST_PROXY },
    metrics,
  );
  const fastify = app.getHttpAdapter().getInstance();
  await app.register(fastifyStatic as never, {
    root: getAbsoluteFSPath(),
    prefix: '/docs/assets/',
    decorateReply: false,
  });
  // Before the API route: awaiting a plugin boots what is registered so far, and Nest's error handler comes later.
  await registerConsole(fastify, { root: config.CONSOLE_DIR ?? defaultConsoleRoot(), logger });
  registerApiProxy(fastify, proxy);
  // The upstream probes, the verifier's polling and the metrics listener start and stop with the app (GatewayJobs).
  await listen(app, config.GATEWAY_PORT, config.HOST, logger);
}

main().catch((err) => {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
