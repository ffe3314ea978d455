import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_MIGRATIONS,
  openFreshDatabase,
  silentLogger,
  type TestDatabase,
} from '../../../../test/support/databases.js';
import { freshPostgresDatabase } from '../../../../test/support/pg.js';
import { migrate, openDatabase, rowsOf, type Db } from '../../src/database.js';

const AUTH_FILES = readdirSync(AUTH_MIGRATIONS)
  .filter((f) => f.endsWith('.sql'))
  .sort();
const AUTH_TABLES = [
  'api_keys',
  'login_throttle',
  'refresh_tokens',
  'schema_migrations',
  'session_revocations',
  'sessions',
  'signing_keys',
  'users',
];

async function tables(db: Db): Promise<string[]> {
  const rows = rowsOf<{ name: string }>(
    await db.execute(
      sql`select table_name as name from information_schema.tables where table_schema = 'public' order by table_name`,
    ),
  );
  return rows.map((r) => r.name);
}

async function appliedNames(db: Db): Promise<string[]> {
  return rowsOf<{ name: string }>(await db.execute(sql`select name from schema_migrations order by name`)).map(
    (r) => r.name,
  );
}

describe(migrate.name, () => {
  describe('on PostgreSQL', () => {
    let opened: TestDatabase;
    let dir: string;

    beforeAll(async () => {
      opened = await openFreshDatabase('migrate');
      dir = await mkdtemp(join(tmpdir(), 'rewards-migrations-'));
    });

    afterAll(async () => {
      await opened?.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it("applies auth's migrations to a fresh database, each file once", async () => {
      const db = opened.database.db;

      const applied = await migrate(db, AUTH_MIGRATIONS, 'auth', silentLogger);

      expect(applied).toEqual(AUTH_FILES);
      expect(applied[0]).toBe('0001_init.sql');
      expect(await appliedNames(db)).toEqual(AUTH_FILES);
      expect(await tables(db)).toEqual(expect.arrayContaining(AUTH_TABLES));
    });

    it('does nothing when applied again', async () => {
      const db = opened.database.db;

      const applied = await migrate(db, AUTH_MIGRATIONS, 'auth', silentLogger);

      expect(applied).toEqual([]);
      expect(await appliedNames(db)).toEqual(AUTH_FILES);
    });

    it('applies files in name order, splits statements at breakpoints and ignores other files', async () => {
      const db = opened.database.db;
      await writeFile(
        join(dir, '0102_second.sql'),
        'insert into probe_a (v) values (2);\n--> statement-breakpoint\ninsert into probe_a (v) values (3);\n',
      );
      await writeFile(
        join(dir, '0101_first.sql'),
        'create table probe_a (v int not null);\n--> statement-breakpoint\ninsert into probe_a (v) values (1);\n',
      );
      await writeFile(join(dir, 'README.md'), 'not a migration');

      const applied = await migrate(db, dir, 'probe', silentLogger);

      expect(applied).toEqual(['0101_first.sql', '0102_second.sql']);
      expect(rowsOf<{ v: number }>(await db.execute(sql`select v from probe_a order by v`)).map((r) => r.v)).toEqual([
        1, 2, 3,
      ]);
      expect(await appliedNames(db)).toEqual([...AUTH_FILES, '0101_first.sql', '0102_second.sql']);
    });

    it('applies nothing of a run in which one file fails', async () => {
      const db = opened.database.db;
      await writeFile(join(dir, '0201_good.sql'), 'create table probe_b (v int);');
      await writeFile(join(dir, '0202_bad.sql'), 'create tabel oops (v int);');

      await expect(migrate(db, dir, 'probe', silentLogger)).rejects.toThrow();

      expect(await tables(db)).not.toContain('probe_b');
      expect(await appliedNames(db)).toEqual([...AUTH_FILES, '0101_first.sql', '0102_second.sql']);

      await writeFile(join(dir, '0202_bad.sql'), 'create table probe_c (v int);');
      expect(await migrate(db, dir, 'probe', silentLogger)).toEqual(['0201_good.sql', '0202_bad.sql']);
      expect(await tables(db)).toEqual(expect.arrayContaining(['probe_b', 'probe_c']));
    });
  });

  describe('on the PostgreSQL server with several instances booting at once', () => {
    it('applies each file exactly once when three pools migrate a fresh database concurrently', async () => {
      const fresh = await freshPostgresDatabase('rewards_migrate');
      const instances = await Promise.all(
        [1, 2, 3].map(() => openDatabase({ url: fresh.url, poolSize: 2, logger: silentLogger })),
      );
      try {
        const results = await Promise.all(instances.map((i) => migrate(i.db, AUTH_MIGRATIONS, 'auth', silentLogger)));

        expect(results.flat()).toEqual(AUTH_FILES);
        expect(results.filter((r) => r.length === 0)).toHaveLength(2);
        const db = instances[0]!.db;
        expect(
          rowsOf<{ name: string; n: number }>(
            await db.execute(sql`select name, count(*)::int as n from schema_migrations group by name order by name`),
          ),
        ).toEqual(AUTH_FILES.map((name) => ({ name, n: 1 })));
        expect(await tables(db)).toEqual(expect.arrayContaining(AUTH_TABLES));
      } finally {
        await Promise.all(instances.map((i) => i.close()));
        await fresh.drop();
      }
    });
  });
});
