import { randomUUID } from 'node:crypto';
import { isUniqueViolation, type Position } from '@rewards/infrastructure';
import { inArray, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase } from '../../../../test/support/databases.js';
import { users } from '../../src/schema.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { rejection, tag, userRow } from '../support/auth.js';

describe(UserRepository.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    let sut: UserRepository;

    beforeAll(() => {
      sut = new UserRepository();
    });

    const db = () => ctx.database.db;

    it('inserts a user and finds it by email, id and invite code', async () => {
      const row = userRow({ roles: ['USER', 'OPERATOR'] });

      const created = await sut.insert(db(), row);

      expect(created).toEqual({ ...row, invitedBy: null, createdAt: expect.any(Date) });
      expect(Math.abs(created.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await sut.findByEmail(db(), row.email)).toEqual(created);
      expect(await sut.findById(db(), row.id)).toEqual(created);
      expect(await sut.findByInviteCode(db(), row.inviteCode)).toEqual(created);
    });

    it('finds nothing for unknown keys', async () => {
      expect(await sut.findByEmail(db(), 'nobody@example.com')).toBeUndefined();
      expect(await sut.findById(db(), randomUUID())).toBeUndefined();
      expect(await sut.findByInviteCode(db(), 'NOSUCHCODE')).toBeUndefined();
    });

    it('records who invited a user', async () => {
      const inviter = await sut.insert(db(), userRow());

      const invited = await sut.insert(db(), userRow({ invitedBy: inviter.id }));

      expect((await sut.findById(db(), invited.id))!.invitedBy).toBe(inviter.id);
    });

    it('reports a taken email as a violation of users_email_key', async () => {
      const first = await sut.insert(db(), userRow());

      const err = await rejection(sut.insert(db(), userRow({ email: first.email })));

      expect(isUniqueViolation(err)).toBe(true);
      expect(isUniqueViolation(err, 'users_email_key')).toBe(true);
      expect(isUniqueViolation(err, 'users_invite_code_key')).toBe(false);
    });

    it('reports a taken invite code as a violation of users_invite_code_key', async () => {
      const first = await sut.insert(db(), userRow());

      const err = await rejection(sut.insert(db(), userRow({ inviteCode: first.inviteCode })));

      expect(isUniqueViolation(err, 'users_invite_code_key')).toBe(true);
      expect(isUniqueViolation(err, 'users_email_key')).toBe(false);
    });

    it('writes through the transaction it is given', async () => {
      const row = userRow();

      await rejection(
        ctx.database.db.transaction(async (tx) => {
          await sut.insert(tx, row);
          expect(await sut.findById(tx, row.id)).toMatchObject({ email: row.email });
          throw new Error('roll back');
        }),
      );

      expect(await sut.findById(db(), row.id)).toBeUndefined();
    });

    it('locks a user row and replaces its roles inside a transaction', async () => {
      const row = await sut.insert(db(), userRow());

      const updated = await ctx.database.db.transaction(async (tx) => {
        expect(await sut.lock(tx, row.id)).toEqual(row);
        expect(await sut.lock(tx, randomUUID())).toBeUndefined();
        return sut.setRoles(tx, row.id, ['USER', 'AUDITOR']);
      });

      expect(updated).toEqual({ ...row, roles: ['USER', 'AUDITOR'] });
      expect((await sut.findById(db(), row.id))!.roles).toEqual(['USER', 'AUDITOR']);
    });

    it('counts the users holding a role', async () => {
      const before = await sut.countWithRole(db(), 'AUDITOR');
      await sut.insert(db(), userRow({ roles: ['AUDITOR'] }));
      await sut.insert(db(), userRow({ roles: ['USER', 'AUDITOR'] }));
      await sut.insert(db(), userRow({ roles: ['USER'] }));

      expect(await sut.countWithRole(db(), 'AUDITOR')).toBe(before + 2);
    });

    describe('list', () => {
      it('filters by role', async () => {
        const m = tag();
        const plain = await sut.insert(db(), userRow({ email: `${m}-plain@example.com`, roles: ['USER'] }));
        const operator = await sut.insert(db(), userRow({ email: `${m}-op@example.com`, roles: ['USER', 'OPERATOR'] }));
        const admin = await sut.insert(
          db(),
          userRow({ email: `${m}-admin@example.com`, roles: ['ADMIN', 'OPERATOR'] }),
        );

        const ids = async (role?: 'USER' | 'OPERATOR' | 'ADMIN' | 'AUDITOR') =>
          (await sut.list(db(), { role, email: m, limit: 10 })).map((r) => r.id).sort();

        expect(await ids('OPERATOR')).toEqual([operator.id, admin.id].sort());
        expect(await ids('ADMIN')).toEqual([admin.id]);
        expect(await ids('USER')).toEqual([plain.id, operator.id].sort());
        expect(await ids('AUDITOR')).toEqual([]);
        expect(await ids()).toEqual([plain.id, operator.id, admin.id].sort());
      });

      it('filters by an email substring, case-insensitively', async () => {
        const m = tag();
        const a = await sut.insert(db(), userRow({ email: `${m}.alice@example.com` }));
        await sut.insert(db(), userRow({ email: `${m}.bob@example.com` }));

        expect((await sut.list(db(), { email: `${m}.ali`, limit: 10 })).map((r) => r.id)).toEqual([a.id]);
        expect((await sut.list(db(), { email: `${m}.ALICE@EXAMPLE`, limit: 10 })).map((r) => r.id)).toEqual([a.id]);
      });

      it('treats %, _ and \\ in the email filter literally', async () => {
        const m = tag();
        const underscore = await sut.insert(db(), userRow({ email: `${m}.under_score@example.com` }));
        const underX = await sut.insert(db(), userRow({ email: `${m}.underXscore@example.com` }));
        const percent = await sut.insert(db(), userRow({ email: `${m}.per%cent@example.com` }));
        await sut.insert(db(), userRow({ email: `${m}.perXXcent@example.com` }));
        const backslash = await sut.insert(db(), userRow({ email: `${m}.back\\slash@example.com` }));
        await sut.insert(db(), userRow({ email: `${m}.backslash@example.com` }));

        const ids = async (email: string) => (await sut.list(db(), { email, limit: 10 })).map((r) => r.id);

        expect(await ids(`${m}.under_score`)).toEqual([underscore.id]);
        expect(await ids(`${m}.underX`)).toEqual([underX.id]);
        expect(await ids(`${m}.per%cent`)).toEqual([percent.id]);
        expect(await ids(`${m}.back\\slash`)).toEqual([backslash.id]);
        expect(await ids('r%c')).toEqual([percent.id]);
        expect(await ids(`${m}._`)).toEqual([]);
      });

      it('returns one row more than the limit, to tell whether another page exists', async () => {
        const m = tag();
        for (let i = 0; i < 3; i++) await sut.insert(db(), userRow({ email: `${m}-${i}@example.com` }));

        expect(await sut.list(db(), { email: m, limit: 2 })).toHaveLength(3);
        expect(await sut.list(db(), { email: m, limit: 3 })).toHaveLength(3);
      });

      it('pages by (created_at, id) without duplicates or gaps, also when users share a creation time', async () => {
        const m = tag();
        const shared = new Date('2030-01-01T00:00:00.000Z');
        const inserted: string[] = [];
        for (let i = 0; i < 4; i++)
          inserted.push(
            (await sut.insert(db(), userRow({ email: `${m}-same-${i}@example.com`, createdAt: shared }))).id,
          );
        // Creation times the database assigns itself (several may share a millisecond).
        for (let i = 0; i < 5; i++)
          inserted.push((await sut.insert(db(), userRow({ email: `${m}-now-${i}@example.com` }))).id);
        inserted.push(
          (
            await sut.insert(
              db(),
              userRow({ email: `${m}-early@example.com`, createdAt: new Date('2020-01-01T00:00:00.000Z') }),
            )
          ).id,
        );
        const all = await sut.list(db(), { email: m, limit: 100 });

        const seen: string[] = [];
        let after: Position | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const rows = await sut.list(db(), { email: m, limit: 2, after });
          const page = rows.slice(0, 2);
          seen.push(...page.map((r) => r.id));
          if (rows.length <= 2) break;
          after = { at: page.at(-1)!.createdAt, id: page.at(-1)!.id };
        }

        expect(seen).toEqual(all.map((r) => r.id));
        expect([...seen].sort()).toEqual([...inserted].sort());
        expect(seen[0]).toBe(inserted.at(-1));
        expect([...seen.slice(1, 6)].sort()).toEqual(inserted.slice(4, 9).sort());
        expect(seen.slice(6)).toEqual(inserted.slice(0, 4).sort());
        const keys = all.map((r) => [r.createdAt.getTime(), r.id] as const);
        expect(
          keys.every(([t, id], i) => i === 0 || t > keys[i - 1]![0] || (t === keys[i - 1]![0] && id > keys[i - 1]![1])),
        ).toBe(true);
      });

      it('assigns creation times at millisecond precision, so a row never lies after its own position', async () => {
        const m = tag();
        const rows = [];
        for (let i = 0; i < 5; i++) rows.push(await sut.insert(db(), userRow({ email: `${m}-${i}@example.com` })));

        const subMillisecond = await db()
          .select({ us: sql<number>`(extract(microseconds from ${users.createdAt}) % 1000)::int` })
          .from(users)
          .where(
            inArray(
              users.id,
              rows.map((r) => r.id),
            ),
          );

        expect(subMillisecond).toEqual(rows.map(() => ({ us: 0 })));
        for (const row of rows) {
          const after = await sut.list(db(), { email: m, limit: 10, after: { at: row.createdAt, id: row.id } });
          expect(after.map((r) => r.id)).not.toContain(row.id);
        }
      });

      it('orders rows of equal creation time by id', async () => {
        const m = tag();
        const at = new Date('2031-06-01T12:00:00.000Z');
        const ids = [
          'ffffffff-0000-4000-8000-000000000000',
          '00000000-0000-4000-8000-000000000000',
          '88888888-0000-4000-8000-000000000000',
        ].map((suffix) => suffix.slice(0, 24) + m.padEnd(12, '0').slice(0, 12));
        for (const id of ids) await sut.insert(db(), userRow({ id, email: `${m}-${id}@example.com`, createdAt: at }));

        const rows = await sut.list(db(), { email: m, limit: 10 });

        expect(rows.map((r) => r.id)).toEqual([...ids].sort());
      });
    });

    it('stores roles as a text array', async () => {
      const row = await sut.insert(db(), userRow({ roles: ['USER', 'ADMIN'] }));

      const [stored] = await ctx.database.db
        .select({ roles: sql<string>`array_to_string(${users.roles}, ',')` })
        .from(users)
        .where(sql`${users.id} = ${row.id}`);

      expect(stored!.roles).toBe('USER,ADMIN');
    });
  });
});
