import { baseEnv, loadConfig, Port, UrlList } from '@rewards/infrastructure';
import { z } from 'zod';

export const gatewayConfigShape = {
  ...baseEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  GATEWAY_PORT: Port.default(3000),
  AUTH_SERVICE_URL: UrlList.default(['http://127.0.0.1:3001']),
  /** One or more event instances, comma-separated; requests are balanced across the healthy ones. */
  EVENT_SERVICE_URL: UrlList.default(['http://127.0.0.1:3002']),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** Set when the gateway itself sits behind a load balancer that sets X-Forwarded-For. */
  TRUST_PROXY: z.stringbool().default(false),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('gateway', gatewayConfigShape, env);
