import { baseEnv, loadConfig, Port, PostgresUrl, UrlList } from '@rewards/infrastructure';
import { z } from 'zod';

export const authConfigShape = {
  ...baseEnv,
  AUTH_PORT: Port.default(3001),
  /** The service's own database on a PostgreSQL server; `pnpm start` supplies one on its embedded server. */
  AUTH_DATABASE_URL: PostgresUrl,
  AUTH_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Where the outbox delivers logins, invitations and audit entries; several instances, comma-separated. */
  EVENT_SERVICE_URL: UrlList.default(['http://127.0.0.1:3002']),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3600).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .default(30 * 24 * 3600),
  /** A private ES256 JWK (with `kid`) to sign with; unset, auth generates one and keeps it in its database. */
  AUTH_SIGNING_JWK: z.string().optional(),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).default(10),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Registrations one client address may make per hour; 0 turns the limit off. */
  REGISTRATION_LIMIT_PER_HOUR: z.coerce.number().int().min(0).default(20),
};

export type AuthConfig = ReturnType<typeof loadAuthConfig>;
export const loadAuthConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('auth', authConfigShape, env);
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
/** The process's logger, for the periodic jobs that log outside any request. */
export const AUTH_LOGGER = Symbol('AUTH_LOGGER');
