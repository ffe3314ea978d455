import { baseEnv, loadConfig, Port, UrlList } from '@rewards/infrastructure';
import { z } from 'zod';

/** One trusted proxy: an address, a CIDR range, or one of proxy-addr's names for the reserved ranges. */
const ProxyAddress = z.union([
  z.ipv4(),
  z.ipv6(),
  z.cidrv4(),
  z.cidrv6(),
  z.enum(['loopback', 'linklocal', 'uniquelocal']),
]);

/**
 * Which proxies in front of the gateway may name the client in X-Forwarded-For: a hop count
 * (`0`/`false`: none) or a comma-separated list of addresses/CIDRs. The client is the right-most
 * untrusted entry. `true` (every hop) is refused: any client could then pick its own address.
 */
export const TrustProxy = z.string().transform((raw, ctx): number | string[] => {
  const value = raw.trim();
  if (value.toLowerCase() === 'false') return 0;
  if (value.toLowerCase() === 'true') {
    ctx.addIssue({
      code: 'custom',
      message:
        '`true` would trust every hop, so any client could choose its own address (X-Forwarded-For); ' +
        'set the number of proxies in front of the gateway (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.0/8)',
    });
    return z.NEVER;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!ProxyAddress.safeParse(item).success) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(item)} is neither a hop count nor an IP address or CIDR (a hop count, or addresses/CIDRs comma-separated)`,
      });
      return z.NEVER;
    }
  }
  return items;
});

export const gatewayConfigShape = {
  ...baseEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  GATEWAY_PORT: Port.default(3000),
  AUTH_SERVICE_URL: UrlList.default(['http://127.0.0.1:3001']),
  /** One or more event instances, comma-separated; requests are balanced across the healthy ones. */
  EVENT_SERVICE_URL: UrlList.default(['http://127.0.0.1:3002']),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** Set when the gateway itself sits behind load balancers that set X-Forwarded-For: their number or addresses. */
  TRUST_PROXY: TrustProxy.default(0),
  /** Prometheus metrics are served here, not on the public port. */
  METRICS_PORT: Port.default(9464),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Claim requests one user may send for one event within a sliding minute; 0 turns the limit off. */
  CLAIM_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  /** The built console (`pnpm --filter @rewards/console build`), served at /console/; default apps/console/dist. */
  CONSOLE_DIR: z.string().min(1).optional(),
};

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig('gateway', gatewayConfigShape, env);
