import { z } from 'zod';

/** Fields every service reads. */
export const Port = z.coerce.number().int().min(1).max(65535);
export const PostgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (`pnpm start` sets it to its embedded server when unset)');
export const HttpUrl = z.url({ protocol: /^https?$/ });
/** One URL or several, comma-separated (instances of one service). */
export const UrlList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
  )
  .pipe(z.array(HttpUrl).min(1));

export const InternalSecret = z
  .string()
  .min(32, 'must be at least 32 characters; generate one with `openssl rand -hex 32`');

export const baseEnv = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Shared by the services for /internal/* calls; `pnpm start` generates one per run. */
  INTERNAL_SECRET: InternalSecret,
};

/**
 * Parse the environment once at boot. On failure, name every bad key and exit:
 * a service that starts with a half-valid configuration fails later and less clearly.
 */
export function loadConfig<T extends z.ZodRawShape>(service: string, shape: T, env: NodeJS.ProcessEnv = process.env) {
  const schema = z.object(shape);
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    process.stderr.write(`[${service}] invalid configuration:\n${lines.join('\n')}\n`);
    process.exit(1);
  }
  return result.data;
}
