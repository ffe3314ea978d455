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
});
