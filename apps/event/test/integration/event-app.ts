import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppError, createMetrics, type Principal, type TokenVerifier } from '@rewards/infrastructure';
import { openDatabase, type Database } from '@rewards/infrastructure/persistence';
import { expect } from 'vitest';
import { silentLogger } from '../../../../test/support/databases.js';
import { EventModule } from '../../src/app.module.js';
import { loadEventConfig } from '../../src/config.js';

/** Services are called directly here: no token ever reaches this verifier. */
const noTokens: TokenVerifier = {
  verify: () => Promise.reject(new Error('no tokens in service tests')),
};

/**
 * One event-service instance without its HTTP server: the application module as `main.ts` builds it,
 * on its own connection pool to the given database, with its background jobs running. Two of them on
 * one database stand for two processes (each with whatever it keeps in memory).
 */
export interface EventApp {
  get<T>(type: Type<T>): T;
  close(): Promise<void>;
}

export async function startEventApp(url: string, poolSize = 10): Promise<EventApp> {
  const config = loadEventConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    INTERNAL_SECRET: 'service-test-internal-secret-0123456789abcdef',
    EVENT_DATABASE_URL: url,
    EVENT_DB_POOL_SIZE: String(poolSize),
  });
  const database: Database = await openDatabase({ url, poolSize, logger: silentLogger });
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(
      EventModule.register(config, database, createMetrics('event'), noTokens),
      { logger: false, abortOnError: false },
    );
  } catch (err) {
    await database.close();
    throw err;
  }
  return {
    get: (type) => app.get(type),
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

export const player = (): Principal => ({ kind: 'user', subject: randomUUID(), roles: ['USER'] });
export const operator = (): Principal => ({ kind: 'user', subject: randomUUID(), roles: ['OPERATOR'] });
/** What an operator's or admin's request carries into a service: who, and the request id for the audit log. */
export const contextOf = (actor: Principal) => ({ actor, requestId: randomUUID() });

/** The AppError a call failed with (a call that succeeds fails the test). */
export async function refusal(call: Promise<unknown>): Promise<{ code: string; status: number }> {
  const err = await call.then(
    (value) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const { code, status } = err as AppError;
  return { code, status };
}
