import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, migrate, openDatabase, type Database } from '@rewards/infrastructure';
import { freshPostgresDatabase, TEST_DATABASE_URL } from './pg.js';

export interface TestDatabase {
  database: Database;
  /** The server URL for a `postgres` database (for a second pool or a direct edit). */
  url?: string;
  dispose(): Promise<void>;
}

export const silentLogger = createLogger('test', 'silent');

/** The databases every repository suite runs on: PGlite always, the PostgreSQL server when TEST_DATABASE_URL is set. */
export const databaseKinds: ('pglite' | 'postgres')[] = TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A fresh, migrated database of the given kind. */
export async function openTestDatabase(kind: 'pglite' | 'postgres', migrations: string, lockName: string): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'rewards-it-'));
    const database = await openDatabase({ dataDir: join(dir, 'db'), logger: silentLogger });
    await migrate(database.db, migrations, lockName, silentLogger);
    return {
      database,
      dispose: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const fresh = await freshPostgresDatabase(`it_${lockName}`);
  const database = await openDatabase({ url: fresh.url, dataDir: '', poolSize: 20, logger: silentLogger });
  await migrate(database.db, migrations, lockName, silentLogger);
  return {
    database,
    url: fresh.url,
    dispose: async () => {
      await database.close();
      await fresh.drop();
    },
  };
}
