import { randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '@rewards/infrastructure';
import { loadAuthConfig, type AuthConfig } from '../../src/config.js';
import type { users } from '../../src/schema.js';

/** Auth's configuration as parsed from a minimal environment, with overrides. */
export function authConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    ...loadAuthConfig({
      INTERNAL_SECRET: 'test-internal-secret-0123456789abcdef',
      LOG_LEVEL: 'silent',
      AUTH_DATABASE_URL: 'postgres://127.0.0.1/unused',
    }),
    ...overrides,
  };
}

/** A short random tag that keeps tests sharing one database apart. */
export const tag = () => randomBytes(5).toString('hex');

export function userRow(overrides: Partial<typeof users.$inferInsert> = {}): typeof users.$inferInsert {
  const t = tag();
  return {
    id: randomUUID(),
    email: `user-${t}@example.com`,
    displayName: `User ${t}`,
    passwordHash: '$argon2id$not-a-real-hash',
    roles: ['USER'],
    inviteCode: `INV${t.toUpperCase()}`,
    ...overrides,
  };
}

/** The AppError a promise rejects with (fails the test for anything else). */
export async function appError(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got: ${String(err)}`, { cause: err });
  return err;
}

/** The error a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
}
