import 'reflect-metadata';
import fastifyStatic from '@fastify/static';
import { API_PREFIX } from '@rewards/contracts';
import { createLogger, createMetrics, createServiceApp, listen, RemoteTokenVerifier } from '@rewards/infrastructure';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { GatewayModule } from './app.module.js';
import { loadGatewayConfig } from './config.js';
import { MetricsServer } from './metrics-server.js';
import { Proxy } from './proxy.js';
import { Upstreams } from './upstreams.js';

const config = loadGatewayConfig();
const logger = createLogger('gateway', config.LOG_LEVEL);

async function main() {
  const upstreams = new Upstreams({ auth: config.AUTH_SERVICE_URL, event: config.EVENT_SERVICE_URL }, logger);
  const verifier = new RemoteTokenVerifier({ authUrls: config.AUTH_SERVICE_URL, internalSecret: config.INTERNAL_SECRET, logger });
  const proxy = new Proxy({
    upstreams,
    verifier,
    internalSecret: config.INTERNAL_SECRET,
    timeoutMs: config.UPSTREAM_TIMEOUT_MS,
    logger,
    claimRateLimitPerMinute: config.CLAIM_RATE_LIMIT_PER_MINUTE,
  });
  const metrics = createMetrics('gateway');
  const app = await createServiceApp(GatewayModule.register(upstreams, verifier), { service: 'gateway', logger, trustProxy: config.TRUST_PROXY }, metrics);
  const fastify = app.getHttpAdapter().getInstance();
  await app.register(fastifyStatic as never, { root: getAbsoluteFSPath(), prefix: '/docs/assets/', decorateReply: false });
  fastify.all(`${API_PREFIX}/*`, (req, reply) => proxy.handle(req, reply));
  // Not on the public port: metrics have their own listener, loopback unless METRICS_HOST says otherwise.
  const metricsServer = new MetricsServer(metrics, logger);
  await metricsServer.listen(config.METRICS_PORT, config.METRICS_HOST);
  upstreams.start();
  verifier.start();
  await listen(app, config.GATEWAY_PORT, config.HOST, logger, async () => {
    verifier.stop();
    await Promise.all([upstreams.close(), metricsServer.close()]);
  });
}

main().catch((err) => {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
});
