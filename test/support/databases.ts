import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, migrate, openDatabase, type Database } from '@rewards/infrastructure';
import { afterAll, beforeAll, inject } from 'vitest';
import { freshPostgresDatabase, TEST_DATABASE_URL } from './pg.js';
import type {} from './pglite-template.js';

export interface TestDatabase {
  database: Database;
  /** The server URL for a `postgres` database (for a second pool or a direct edit). */
  url?: string;
  dispose(): Promise<void>;
}

export type DatabaseKind = 'pglite' | 'postgres';

export const silentLogger = createLogger('test', 'silent');
export const AUTH_MIGRATIONS = fileURLToPath(new URL('../../apps/auth/migrations', import.meta.url));

/** The databases every repository suite runs on: PGlite always, the PostgreSQL server when TEST_DATABASE_URL is set. */
export const databaseKinds: DatabaseKind[] = TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/**
 * A fresh, empty database of the given kind. PGlite starts from a copy of the run's empty template
 * when the integration project provides one: creating a PGlite database takes seconds, copying one
 * a fraction of that.
 */
export async function openFreshDatabase(kind: DatabaseKind, name = 'test'): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'rewards-it-'));
    const dataDir = join(dir, 'db');
    const template = inject('pgliteTemplate');
    if (template) await cp(template, dataDir, { recursive: true });
    const database = await openDatabase({ dataDir, logger: silentLogger });
    return {
      database,
      dispose: async () => {
        await database.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const fresh = await freshPostgresDatabase(`it_${name}`);
  const database = await openDatabase({ url: fresh.url, dataDir: '', poolSize: 20, logger: silentLogger });
  return {
    database,
    url: fresh.url,
    dispose: async () => {
      await database.close();
      await fresh.drop();
    },
  };
}

/** A fresh, migrated database of the given kind. */
export async function openTestDatabase(kind: DatabaseKind, migrations: string, lockName: string): Promise<TestDatabase> {
  const t = await openFreshDatabase(kind, lockName);
  await migrate(t.database.db, migrations, lockName, silentLogger);
  return t;
}

/**
 * A fresh, migrated database for the enclosing describe block, shared by its tests (one per file,
 * not one per test). Read `.database` inside hooks and tests.
 */
export function migratedDatabase(kind: DatabaseKind, migrations: string, lockName: string): { readonly database: Database; readonly url?: string } {
  let opened: TestDatabase | undefined;
  beforeAll(async () => {
    opened = await openTestDatabase(kind, migrations, lockName);
  });
  afterAll(async () => {
    await opened?.dispose();
  });
  return {
    get database() {
      if (!opened) throw new Error('database is not open yet: use it inside hooks and tests');
      return opened.database;
    },
    get url() {
      return opened?.url;
    },
  };
}

/** Auth's migrated database for the enclosing describe block. */
export const authDatabase = (kind: DatabaseKind) => migratedDatabase(kind, AUTH_MIGRATIONS, 'auth');
