import { baseEnv, loadConfig, Port, PostgresUrl, UrlList } from '@rewards/infrastructure';
import { z } from 'zod';

/** One wait of WEBHOOK_RETRY_SCHEDULE, in seconds: at most a week. */
const RetryWait = z
  .number()
  .positive()
  .max(7 * 86_400);

export const eventConfigShape = {
  ...baseEnv,
  EVENT_PORT: Port.default(3002),
  /** The service's own database on a PostgreSQL server; `pnpm start` supplies one on its embedded server. */
  EVENT_DATABASE_URL: PostgresUrl,
  EVENT_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(16),
  /** Auth instance(s), comma-separated: keys and session revocations come from the first that answers. */
  AUTH_SERVICE_URL: UrlList.default(['http://127.0.0.1:3001']),
  /** Names this instance's embedded data directory when several run (`.data/event-2`). */
  EVENT_INSTANCE: z.coerce.number().int().min(1).default(1),
  /**
   * Seconds to wait before each retry of a webhook message that was not answered with a 2xx, comma-separated;
   * after the last, the delivery is FAILED. Each wait gets up to 10 % jitter. The default spans about a day.
   */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .regex(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/, 'must be seconds, comma-separated (e.g. 5,30,120)')
    .default('5,30,120,600,1800,3600,7200,14400,28800,28800')
    .transform((s) => s.split(',').map((n) => Number(n.trim())))
    .pipe(z.array(RetryWait).min(1).max(50)),
  /**
   * Sends one instance has in flight to one webhook endpoint: a slow receiver holds at most these, and
   * delays no other endpoint's messages.
   */
  WEBHOOK_SENDS_PER_ENDPOINT: z.coerce.number().int().min(1).max(256).default(64),
  /**
   * Claims one statement writes at most when they arrive together (rejections, and claims reserving
   * several limited rewards, are written one by one). `1` writes every claim with its own statement.
   */
  CLAIM_WRITE_BATCH_MAX: z.coerce.number().int().min(1).max(256).default(32),
  /** `true` admits webhook URLs on loopback, private and link-local addresses (development and tests only). */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
};

export type EventConfig = ReturnType<typeof loadEventConfig>;
export const loadEventConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('event', eventConfigShape, env);
export const EVENT_CONFIG = Symbol('EVENT_CONFIG');
