import { randomUUID } from 'node:crypto';
import type { Role } from '@rewards/contracts';
import { encodeCursor, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, silentLogger } from '../../../../test/support/databases.js';
import { OutboxRelay } from '../../src/outbox/outbox.relay.js';
import { OutboxRepository } from '../../src/outbox/outbox.repository.js';
import { outbox, sessionRevocations, sessions, users } from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { toUser, UserRepository } from '../../src/users/user.repository.js';
import { UsersService } from '../../src/users/users.service.js';
import { appError, authConfig, tag, userRow } from '../support/auth.js';

const actor: Principal = { kind: 'user', subject: randomUUID(), roles: ['ADMIN'], sessionId: randomUUID() };
const REQUEST_ID = 'req-roles-1';
const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe(UsersService.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    let sut: UsersService;
    let repo: UserRepository;
    let sessionRepo: SessionRepository;

    beforeAll(() => {
      repo = new UserRepository();
      sessionRepo = new SessionRepository();
      const uow = new UnitOfWork(ctx.database);
      const relay = new OutboxRelay(uow, new OutboxRepository(), authConfig(), silentLogger);
      sut = new UsersService(uow, repo, sessionRepo, new OutboxRepository(), relay);
    });

    const db = () => ctx.database.db;
    const newUser = (roles: Role[] = ['USER'], email?: string) =>
      repo.insert(db(), userRow({ roles, ...(email ? { email } : {}) }));
    const rolesOf = async (id: string) => (await repo.findById(db(), id))!.roles;
    /** Leaves ADMIN with exactly the given users. */
    async function onlyAdmins(...ids: string[]) {
      await db().execute(sql`update users set roles = array_remove(roles, 'ADMIN') where 'ADMIN' = any(roles)`);
      for (const id of ids)
        await db()
          .update(users)
          .set({ roles: sql`array_append(${users.roles}, 'ADMIN')` })
          .where(eq(users.id, id));
    }
    /** Audit entries waiting in the outbox for the event service, about one user. */
    const auditsOf = async (userId: string) =>
      (
        await db()
          .select()
          .from(outbox)
          .where(sql`${outbox.topic} = 'audit' and ${outbox.payload}->>'targetId' = ${userId}`)
      ).map((r) => r.payload);
    const revocationsOf = (userId: string) =>
      db()
        .select({ sessionId: sessionRevocations.sessionId, reason: sessionRevocations.reason })
        .from(sessionRevocations)
        .where(eq(sessionRevocations.userId, userId));

    describe('setRoles', () => {
      it("replaces the roles and ends the user's session", async () => {
        const user = await newUser();
        const sid = randomUUID();
        await sessionRepo.upsert(db(), user.id, sid);

        const result = await sut.setRoles(actor, REQUEST_ID, user.id, ['USER', 'OPERATOR']);

        expect(result).toEqual({ before: toUser(user), after: { ...toUser(user), roles: ['USER', 'OPERATOR'] } });
        expect(await rolesOf(user.id)).toEqual(['USER', 'OPERATOR']);
        expect(await db().select().from(sessions).where(eq(sessions.userId, user.id))).toEqual([]);
        expect(await revocationsOf(user.id)).toEqual([{ sessionId: sid, reason: 'roles-changed' }]);
        expect(await auditsOf(user.id)).toEqual([
          {
            id: expect.stringMatching(/^[0-9a-f-]{36}$/),
            actorId: actor.subject,
            action: 'user.roles.set',
            targetType: 'user',
            targetId: user.id,
            before: { roles: ['USER'] },
            after: { roles: ['USER', 'OPERATOR'] },
            requestId: REQUEST_ID,
            at: expect.any(String),
          },
        ]);
      });

      it('drops repeated roles', async () => {
        const user = await newUser();

        const { after } = await sut.setRoles(actor, REQUEST_ID, user.id, ['AUDITOR', 'USER', 'AUDITOR']);

        expect(after.roles).toEqual(['AUDITOR', 'USER']);
      });

      it('records no revocation for a user without a session', async () => {
        const user = await newUser();

        await sut.setRoles(actor, REQUEST_ID, user.id, ['AUDITOR']);

        expect(await revocationsOf(user.id)).toEqual([]);
      });

      it('answers NOT_FOUND for an unknown user', async () => {
        const err = await appError(sut.setRoles(actor, REQUEST_ID, randomUUID(), ['USER']));

        expect(err.code).toBe('NOT_FOUND');
        expect(err.status).toBe(404);
      });

      it('refuses to take ADMIN from the last administrator, and changes nothing', async () => {
        const admin = await newUser(['ADMIN']);
        await onlyAdmins(admin.id);
        const sid = randomUUID();
        await sessionRepo.upsert(db(), admin.id, sid);

        const err = await appError(sut.setRoles(actor, REQUEST_ID, admin.id, ['USER', 'OPERATOR']));

        expect(err.code).toBe('INVALID_STATE');
        expect(err.status).toBe(409);
        expect(err.message).toBe('The last administrator cannot lose the ADMIN role');
        expect(await rolesOf(admin.id)).toEqual(['ADMIN']);
        expect(await sessionRepo.current(db(), admin.id)).toBe(sid);
        expect(await revocationsOf(admin.id)).toEqual([]);
        expect(await auditsOf(admin.id)).toEqual([]);
      });

      it('lets the last administrator gain roles while keeping ADMIN', async () => {
        const admin = await newUser(['ADMIN']);
        await onlyAdmins(admin.id);

        expect((await sut.setRoles(actor, REQUEST_ID, admin.id, ['ADMIN', 'AUDITOR'])).after.roles).toEqual([
          'ADMIN',
          'AUDITOR',
        ]);
      });

      it('takes ADMIN from one of two administrators', async () => {
        const [a, b] = [await newUser(['ADMIN']), await newUser(['ADMIN'])];
        await onlyAdmins(a.id, b.id);

        await sut.setRoles(actor, REQUEST_ID, a.id, ['USER']);

        expect(await repo.countWithRole(db(), 'ADMIN')).toBe(1);
        expect((await appError(sut.setRoles(actor, REQUEST_ID, b.id, ['USER']))).code).toBe('INVALID_STATE');
      });

      it('keeps one administrator when the last two are demoted at the same time', async () => {
        const [a, b] = [await newUser(['ADMIN']), await newUser(['ADMIN'])];
        await onlyAdmins(a.id, b.id);

        const results = await Promise.allSettled([
          sut.setRoles(actor, REQUEST_ID, a.id, ['USER']),
          sut.setRoles(actor, REQUEST_ID, b.id, ['USER']),
        ]);

        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(
          results
            .filter((r) => r.status === 'rejected')
            .map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code),
        ).toEqual(['INVALID_STATE']);
        expect(await repo.countWithRole(db(), 'ADMIN')).toBe(1);
      });
    });

    describe('list', () => {
      it('pages through all matching users with cursors, without duplicates or gaps', async () => {
        const m = tag();
        const ids: string[] = [];
        for (let i = 0; i < 7; i++) ids.push((await newUser(['USER'], `${m}-${i}@example.com`)).id);

        const seen: string[] = [];
        let next: string | undefined;
        let pages = 0;
        do {
          const page = await sut.list({ email: m, limit: 3, cursor: next });
          seen.push(...page.items.map((u) => u.id));
          next = page.nextCursor ?? undefined;
          pages++;
        } while (next && pages < 10);

        expect(seen).toEqual((await sut.list({ email: m, limit: 100 })).items.map((u) => u.id));
        expect([...seen].sort()).toEqual([...ids].sort());
        expect(pages).toBe(3);
      });

      it('answers no next cursor when the page holds the rest', async () => {
        const m = tag();
        for (let i = 0; i < 3; i++) await newUser(['USER'], `${m}-${i}@example.com`);

        const page = await sut.list({ email: m, limit: 3 });

        expect(page.items).toHaveLength(3);
        expect(page.nextCursor).toBeNull();
      });

      it('filters by role and by email, ignoring the case of the filter', async () => {
        const m = tag();
        const operator = await newUser(['USER', 'OPERATOR'], `${m}-op@example.com`);
        await newUser(['USER'], `${m}-plain@example.com`);

        const page = await sut.list({ email: m.toUpperCase(), role: 'OPERATOR', limit: 20 });

        expect(page).toEqual({ items: [toUser(operator)], nextCursor: null });
      });

      it('keeps its pages whole while users register between them', async () => {
        const m = tag();
        const ids: string[] = [];
        for (let i = 0; i < 6; i++) ids.push((await newUser(['USER'], `${m}-${i}@example.com`)).id);

        const seen: string[] = [];
        let next: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await sut.list({ email: m, limit: 2, cursor: next });
          seen.push(...page.items.map((u) => u.id));
          // A millisecond later than any row listed so far (a user of the very same millisecond
          // and a lower id would sort before the cursor: positions are milliseconds).
          await new Promise((r) => setTimeout(r, 2));
          await newUser(['USER'], `${m}-late-${pages}@example.com`);
          next = page.nextCursor ?? undefined;
          if (!next) break;
        }

        const all = (await sut.list({ email: m, limit: 100 })).items.map((u) => u.id);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(expect.arrayContaining(ids));
        // Everything but the user registered after the last page was read.
        expect(seen).toEqual(all.slice(0, -1));
      });

      it('pages with the shared cursor, at the creation time and id of the last row', async () => {
        const m = tag();
        const at = (ms: number) => new Date(Date.UTC(2032, 0, 1, 0, 0, 0, ms));
        const first = await repo.insert(db(), userRow({ email: `${m}-0@example.com`, createdAt: at(1) }));
        await repo.insert(db(), userRow({ email: `${m}-1@example.com`, createdAt: at(2) }));

        const page = await sut.list({ email: m, limit: 1 });

        expect(page.nextCursor).toBe(encodeCursor({ at: first.createdAt, id: first.id }));
      });

      it.each([
        ['not base64 JSON', '!!!'],
        ['JSON of another shape', cursor({ x: 1 })],
        ['of the former shape, with microseconds', cursor({ c: '2024-01-01T00:00:00.000000Z', i: randomUUID() })],
        ['an impossible creation time', cursor(['2024-13-45T00:00:00.000Z', randomUUID()])],
        ['an id that is not a UUID', cursor(['2024-01-01T00:00:00.000Z', '------------------------------------'])],
        ['a null', cursor(null)],
      ])('refuses a cursor that is %s with VALIDATION_FAILED', async (_name, raw) => {
        const err = await appError(sut.list({ limit: 5, cursor: raw }));

        expect(err.code).toBe('VALIDATION_FAILED');
        expect(err.details).toEqual([{ path: 'cursor', code: 'invalid', message: 'Unknown cursor' }]);
      });
    });
  });
});
