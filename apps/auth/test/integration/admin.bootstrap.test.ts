import type { Logger } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { arrayContains, eq, sql } from 'drizzle-orm';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { authDatabase } from '../../../../test/support/databases.js';
import { PasswordHasher } from '../../src/auth/password.hasher.js';
import { users } from '../../src/schema.js';
import { AdminBootstrap } from '../../src/users/admin.bootstrap.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { authConfig, userRow } from '../support/auth.js';

const hasher = new PasswordHasher();

function fakeLogger() {
  return { info: vi.fn(), warn: vi.fn() };
}

describe(AdminBootstrap.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    let repo: UserRepository;
    let stdout: ReturnType<typeof vi.spyOn>;

    beforeAll(() => {
      repo = new UserRepository();
    });

    beforeEach(async () => {
      await ctx.database.db.delete(users);
      stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    });

    afterEach(() => {
      vi.restoreAllMocks();
    });

    const bootstrap = (overrides: Parameters<typeof authConfig>[0] = {}) =>
      new AdminBootstrap(new UnitOfWork(ctx.database), authConfig(overrides), repo, hasher);
    const admins = () =>
      ctx.database.db
        .select()
        .from(users)
        .where(arrayContains(users.roles, ['ADMIN']));
    const printed = () =>
      stdout.mock.calls.map((c: unknown[]) => String(c[0])).filter((s: string) => s.includes('First administrator'));

    it('creates exactly one administrator from ADMIN_EMAIL and ADMIN_PASSWORD, even when instances start at once', async () => {
      const logger = fakeLogger();
      const sut = [0, 1, 2].map(() =>
        bootstrap({ ADMIN_EMAIL: 'Ops@Example.com', ADMIN_PASSWORD: 'a configured password' }),
      );

      await Promise.all(sut.map((s) => s.ensureAdmin(logger as unknown as Logger)));

      const rows = await admins();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        email: 'ops@example.com',
        displayName: 'Administrator',
        roles: ['ADMIN'],
        invitedBy: null,
      });
      expect(await hasher.verify(rows[0]!.passwordHash, 'a configured password')).toBe(true);
      expect(logger.info).toHaveBeenCalledTimes(1);
      expect(logger.info).toHaveBeenCalledWith({ email: 'ops@example.com' }, 'created the first administrator');
      expect(printed()).toEqual([]);
    });

    it('prints a generated password once when none is configured, and nothing on later starts', async () => {
      const logger = fakeLogger();

      await Promise.all([0, 1, 2].map(() => bootstrap().ensureAdmin(logger as unknown as Logger)));

      const rows = await admins();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.email).toBe('admin@example.com');
      const output = printed();
      expect(output).toHaveLength(1);
      const password = /password: (\S+)/.exec(output[0]!)?.[1];
      expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(output[0]).toContain('email:    admin@example.com');
      expect(await hasher.verify(rows[0]!.passwordHash, password!)).toBe(true);

      stdout.mockClear();
      await bootstrap().ensureAdmin(logger as unknown as Logger);

      expect(printed()).toEqual([]);
      expect(await admins()).toHaveLength(1);
      expect(logger.info).toHaveBeenCalledTimes(1);
    });

    it('promotes the existing ADMIN_EMAIL account when no administrator exists, keeping its password', async () => {
      const logger = fakeLogger();
      const existing = await repo.insert(
        ctx.database.db,
        userRow({ email: 'ops@example.com', roles: ['USER', 'OPERATOR'] }),
      );

      await bootstrap({ ADMIN_EMAIL: 'ops@example.com', ADMIN_PASSWORD: 'a configured password' }).ensureAdmin(
        logger as unknown as Logger,
      );

      const after = await repo.findById(ctx.database.db, existing.id);
      expect(after).toEqual({ ...existing, roles: ['USER', 'OPERATOR', 'ADMIN'] });
      expect(logger.warn).toHaveBeenCalledWith(
        { email: 'ops@example.com' },
        'no administrator existed; promoted the configured ADMIN_EMAIL account',
      );
      expect(await ctx.database.db.select().from(users)).toHaveLength(1);
      expect(printed()).toEqual([]);
    });

    it('does nothing while any administrator exists', async () => {
      const logger = fakeLogger();
      const someAdmin = await repo.insert(ctx.database.db, userRow({ roles: ['ADMIN'] }));
      const plain = await repo.insert(ctx.database.db, userRow({ email: 'ops@example.com' }));

      await bootstrap({ ADMIN_EMAIL: 'ops@example.com' }).ensureAdmin(logger as unknown as Logger);

      expect((await admins()).map((r) => r.id)).toEqual([someAdmin.id]);
      expect((await repo.findById(ctx.database.db, plain.id))!.roles).toEqual(['USER']);
      expect(logger.info).not.toHaveBeenCalled();
      expect(logger.warn).not.toHaveBeenCalled();
      expect(printed()).toEqual([]);
      expect(
        await ctx.database.db
          .select({ n: sql<number>`count(*)::int` })
          .from(users)
          .where(eq(users.email, 'admin@example.com')),
      ).toEqual([{ n: 0 }]);
    });
  });
});
