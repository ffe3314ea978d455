import { fileURLToPath } from 'node:url';
import { createLogger } from '@rewards/infrastructure';
import { migrate, openDatabase, type Database } from '@rewards/infrastructure/persistence';
import { afterAll, beforeAll } from 'vitest';
import { freshPostgresDatabase } from './pg.js';

export interface TestDatabase {
  database: Database;
  /** The database's URL (for a second pool or a direct edit). */
  url: string;
  dispose(): Promise<void>;
}

export const silentLogger = createLogger('test', 'silent');
export const AUTH_MIGRATIONS = fileURLToPath(new URL('../../apps/auth/migrations', import.meta.url));

/** A fresh, empty database on the test server; `dispose` closes and drops it. */
export async function openFreshDatabase(name = 'test'): Promise<TestDatabase> {
  const fresh = await freshPostgresDatabase(`it_${name}`);
  const database = await openDatabase({ url: fresh.url, poolSize: 20, logger: silentLogger });
  return {
    database,
    url: fresh.url,
    dispose: async () => {
      await database.close();
      await fresh.drop();
    },
  };
}

/** A fresh, migrated database. */
export async function openTestDatabase(migrations: string, lockName: string): Promise<TestDatabase> {
  const t = await openFreshDatabase(lockName);
  await migrate(t.database.db, migrations, lockName, silentLogger);
  return t;
}

/**
 * A fresh, migrated database for the enclosing describe block, shared by its tests (one per file,
 * not one per test). Read `.database` inside hooks and tests.
 */
export function migratedDatabase(
  migrations: string,
  lockName: string,
): { readonly database: Database; readonly url?: string } {
  let opened: TestDatabase | undefined;
  beforeAll(async () => {
    opened = await openTestDatabase(migrations, lockName);
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
export const authDatabase = () => migratedDatabase(AUTH_MIGRATIONS, 'auth');
