import { baseEnv, loadConfig, Port, PostgresUrl, UrlList } from '@rewards/infrastructure';
import { z } from 'zod';

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
};

export type EventConfig = ReturnType<typeof loadEventConfig>;
export const loadEventConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('event', eventConfigShape, env);
export const EVENT_CONFIG = Symbol('EVENT_CONFIG');
