import { randomBytes } from 'node:crypto';
import pg from 'pg';

import { inject } from 'vitest';

/** The server every suite runs on: TEST_DATABASE_URL, or the run's embedded server (see postgres-server.ts). */
export const TEST_DATABASE_URL: string = process.env.TEST_DATABASE_URL || inject('testDatabaseUrl');

/** A fresh, empty database on the PostgreSQL server at TEST_DATABASE_URL; `drop` removes it. */
export async function freshPostgresDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
