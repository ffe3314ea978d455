import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, rowsOf } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { AUTH_MIGRATIONS, openFreshDatabase, silentLogger } from '../../../../test/support/databases.js';

describe('auth migrations', () => {
  it('0007 cuts the creation times of users and API keys to milliseconds, and writes new ones at it', async () => {
    const t = await openFreshDatabase('auth_0007');
    const before = mkdtempSync(join(tmpdir(), 'auth-migrations-'));
    try {
      for (const file of readdirSync(AUTH_MIGRATIONS).filter((f) => f < '0007')) {
        copyFileSync(join(AUTH_MIGRATIONS, file), join(before, file));
      }
      await migrate(t.database.db, before, 'auth', silentLogger);
      const [userId, keyId] = [randomUUID(), randomUUID()];
      await t.database.db.execute(sql`
        insert into users (id, email, display_name, password_hash, invite_code, created_at)
        values (${userId}, 'old@example.com', 'Old', 'x', 'OLDCODE', '2024-01-02T03:04:05.678912Z')`);
      await t.database.db.execute(sql`
        insert into api_keys (id, name, key_hash, created_by, created_at)
        values (${keyId}, 'old-key', 'hash', ${userId}, '2024-01-02T03:04:05.999999Z')`);

      await migrate(t.database.db, AUTH_MIGRATIONS, 'auth', silentLogger);
      await t.database.db.execute(sql`
        insert into users (id, email, display_name, password_hash, invite_code)
        values (${randomUUID()}, 'new@example.com', 'New', 'x', 'NEWCODE')`);
      await t.database.db.execute(sql`
        insert into api_keys (id, name, key_hash, created_by) values (${randomUUID()}, 'new-key', 'hash2', ${userId})`);

      const times = rowsOf<{ name: string; at: string }>(
        await t.database.db.execute(sql`
          select email as name, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as at from users
          union all
          select name, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') from api_keys
          order by name`),
      );
      expect(times).toEqual([
        { name: 'new-key', at: expect.stringMatching(/\.\d{3}000$/) },
        { name: 'new@example.com', at: expect.stringMatching(/\.\d{3}000$/) },
        // Cut, not rounded: a creation time never moves later than it was.
        { name: 'old-key', at: '2024-01-02T03:04:05.999000' },
        { name: 'old@example.com', at: '2024-01-02T03:04:05.678000' },
      ]);
    } finally {
      rmSync(before, { recursive: true, force: true });
      await t.dispose();
    }
  });
  it('0008 carries confirmed sign-in failures over to the throttle rows, per account and per address', async () => {
    const t = await openFreshDatabase('auth_0008');
    const before = mkdtempSync(join(tmpdir(), 'auth-migrations-'));
    try {
      for (const file of readdirSync(AUTH_MIGRATIONS).filter((f) => f < '0008')) {
        copyFileSync(join(AUTH_MIGRATIONS, file), join(before, file));
      }
      await migrate(t.database.db, before, 'auth', silentLogger);
      await t.database.db.execute(sql`
        insert into login_failures (email, ip, at, pending) values
          ('a@example.com', '192.0.2.1', '2024-01-02T03:04:05.000001Z', false),
          ('a@example.com', '192.0.2.1', '2024-01-02T03:04:06.000002Z', false),
          ('b@example.com', '192.0.2.1', '2024-01-02T03:04:07Z', false),
          ('b@example.com', '192.0.2.1', '2024-01-02T03:04:08Z', true),
          ('a@example.com', '198.51.100.2', '2024-01-02T03:04:09Z', false)`);

      await migrate(t.database.db, AUTH_MIGRATIONS, 'auth', silentLogger);

      const rows = rowsOf<{ ip: string; email: string; failures: string[]; pending: number }>(
        await t.database.db.execute(sql`
          select ip, email, array(select to_char(f at time zone 'UTC', 'HH24:MI:SS.US') from unnest(failures) f) as failures,
                 cardinality(pending) as pending
            from login_throttle order by ip, email`),
      );
      expect(rows).toEqual([
        { ip: '192.0.2.1', email: '', failures: ['03:04:05.000001', '03:04:06.000002', '03:04:07.000000'], pending: 0 },
        { ip: '192.0.2.1', email: 'a@example.com', failures: ['03:04:05.000001', '03:04:06.000002'], pending: 0 },
        { ip: '192.0.2.1', email: 'b@example.com', failures: ['03:04:07.000000'], pending: 0 },
        { ip: '198.51.100.2', email: '', failures: ['03:04:09.000000'], pending: 0 },
        { ip: '198.51.100.2', email: 'a@example.com', failures: ['03:04:09.000000'], pending: 0 },
      ]);
      const [gone] = rowsOf<{ table: string | null }>(
        await t.database.db.execute(sql`select to_regclass('login_failures')::text as table`),
      );
      expect(gone!.table).toBeNull();
    } finally {
      rmSync(before, { recursive: true, force: true });
      await t.dispose();
    }
  });
});
