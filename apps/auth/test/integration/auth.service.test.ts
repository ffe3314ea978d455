import { randomUUID } from 'node:crypto';
import type { Role } from '@rewards/contracts';
import type { Principal } from '@rewards/infrastructure';
import { UnitOfWork, type Database } from '@rewards/infrastructure/persistence';
import { eq, type SQL, sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, silentLogger } from '../../../../test/support/databases.js';
import { AuthService } from '../../src/auth/auth.service.js';
import { type Attempt, LoginThrottleRepository, type Reservation } from '../../src/auth/login-throttle.repository.js';
import { PasswordHasher } from '../../src/auth/password.hasher.js';
import { RegistrationLimitRepository } from '../../src/auth/registration-limit.repository.js';
import type { AuthConfig } from '../../src/config.js';
import { LocalTokenVerifier } from '../../src/keys/local-token.verifier.js';
import { SigningKeyRepository } from '../../src/keys/signing-key.repository.js';
import { SigningKeyStore } from '../../src/keys/signing-key.store.js';
import { OutboxRelay } from '../../src/outbox/outbox.relay.js';
import { OutboxRepository } from '../../src/outbox/outbox.repository.js';
import {
  loginThrottle,
  outbox,
  refreshTokens,
  registrations,
  sessionRevocations,
  sessions,
  users,
} from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { toUser, UserRepository } from '../../src/users/user.repository.js';
import { appError, authConfig, tag, userRow } from '../support/auth.js';

const PASSWORD = 'correct horse battery staple';
const INVITE_ALPHABET = /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{10}$/;
const hasher = new PasswordHasher();

let ipCounter = 0;
/** A client address of its own for each test, so per-IP throttling does not leak between tests. */
const newIp = () => `10.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}.${Math.floor(Math.random() * 250)}`;

describe(AuthService.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    const config = authConfig({ ACCESS_TOKEN_TTL_SECONDS: 600 });
    let keys: SigningKeyStore;
    let sut: AuthService;
    let verifier: LocalTokenVerifier;
    let passwordHash: string;

    const service = (database: Database, cfg: AuthConfig) => {
      const uow = new UnitOfWork(database);
      return new AuthService(
        uow,
        cfg,
        new UserRepository(),
        new SessionRepository(),
        keys,
        hasher,
        new LoginThrottleRepository(),
        new RegistrationLimitRepository(),
        new OutboxRepository(),
        new OutboxRelay(uow, new OutboxRepository(), cfg, silentLogger),
      );
    };

    beforeAll(async () => {
      passwordHash = await hasher.hash(PASSWORD);
      keys = new SigningKeyStore(new UnitOfWork(ctx.database), new SigningKeyRepository(), config);
      await keys.load();
      sut = service(ctx.database, config);
      verifier = new LocalTokenVerifier(keys, new UnitOfWork(ctx.database), new SessionRepository());
    });

    const db = () => ctx.database.db;
    const newEmail = () => `player-${tag()}@example.com`;
    /** A user with PASSWORD, inserted directly: hashing once per file keeps the suite fast. */
    async function registered(roles: Role[] = ['USER']) {
      return toUser(
        await new UserRepository().insert(ctx.database.db, userRow({ email: newEmail(), passwordHash, roles })),
      );
    }
    const principalOf = async (accessToken: string): Promise<Principal> => verifier.verify(accessToken);
    const revocationsOf = (userId: string) =>
      db()
        .select({ sessionId: sessionRevocations.sessionId, reason: sessionRevocations.reason })
        .from(sessionRevocations)
        .where(eq(sessionRevocations.userId, userId))
        .orderBy(sessionRevocations.seq);
    const sessionRowsOf = (userId: string) => db().select().from(sessions).where(eq(sessions.userId, userId));
    /** The throttle's rows of an address: failures and attempts in flight per account, '' for the address. */
    const throttleOf = async (ip: string) =>
      Object.fromEntries(
        (await db().select().from(loginThrottle).where(eq(loginThrottle.ip, ip))).map((r) => [
          r.email,
          { failures: r.failures.length, pending: r.pending.length },
        ]),
      );
    /** Activities waiting in the outbox for the event service, about one user. */
    const activitiesOf = async (userId: string) =>
      (
        await db()
          .select()
          .from(outbox)
          .where(sql`${outbox.topic} = 'activity' and ${outbox.payload}->>'userId' = ${userId}`)
          .orderBy(outbox.id)
      ).map(
        (r) =>
          r.payload as {
            id: string;
            userId: string;
            type: string;
            occurredAt: string;
            attributes?: Record<string, unknown>;
          },
      );

    describe('register', () => {
      it('creates a USER with a hashed password, an invite code and a display name from the email', async () => {
        const email = newEmail();

        const user = await sut.register({ email, password: PASSWORD }, newIp());

        expect(user).toEqual({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          email,
          displayName: email.split('@')[0],
          roles: ['USER'],
          inviteCode: expect.stringMatching(INVITE_ALPHABET),
          createdAt: expect.any(String),
        });
        expect(new Date(user.createdAt).toISOString()).toBe(user.createdAt);
        const [row] = await db().select().from(users).where(eq(users.id, user.id));
        expect(row!.passwordHash.startsWith('$argon2id$')).toBe(true);
        expect(row!.invitedBy).toBeNull();
        expect(await hasher.verify(row!.passwordHash, PASSWORD)).toBe(true);
      });

      it('keeps a given display name', async () => {
        expect(
          (await sut.register({ email: newEmail(), password: PASSWORD, displayName: 'Night Owl' }, newIp()))
            .displayName,
        ).toBe('Night Owl');
      });

      it('refuses a taken email with EMAIL_TAKEN', async () => {
        const { email } = await registered();

        const err = await appError(sut.register({ email, password: 'another password' }, newIp()));

        expect(err.code).toBe('EMAIL_TAKEN');
        expect(err.status).toBe(409);
        expect(await db().select().from(users).where(eq(users.email, email))).toHaveLength(1);
      });

      it('lets exactly one of several concurrent registrations of one email through', async () => {
        const email = newEmail();

        const results = await Promise.allSettled(
          Array.from({ length: 5 }, () => sut.register({ email, password: PASSWORD }, newIp())),
        );

        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(failures.map((f) => (f.reason as { code?: string }).code)).toEqual([
          'EMAIL_TAKEN',
          'EMAIL_TAKEN',
          'EMAIL_TAKEN',
          'EMAIL_TAKEN',
        ]);
      });

      it("links an invited player to the inviter, whatever the code's case", async () => {
        const inviter = await registered();

        const invited = await sut.register(
          { email: newEmail(), password: PASSWORD, inviteCode: inviter.inviteCode.toLowerCase() },
          newIp(),
        );

        const [row] = await db().select().from(users).where(eq(users.id, invited.id));
        expect(row!.invitedBy).toBe(inviter.id);
        expect(invited.inviteCode).not.toBe(inviter.inviteCode);
        expect(await activitiesOf(inviter.id)).toEqual([
          {
            id: `invite:${invited.id}`,
            userId: inviter.id,
            type: 'INVITE_ACCEPTED',
            occurredAt: invited.createdAt,
            attributes: { inviteeId: invited.id },
          },
        ]);
        expect(await activitiesOf(invited.id)).toEqual([]);
      });

      it('admits REGISTRATION_LIMIT_PER_HOUR registrations per address, then 429 with the wait; other addresses still register', async () => {
        const limited = service(ctx.database, authConfig({ REGISTRATION_LIMIT_PER_HOUR: 3 }));
        const ip = newIp();
        for (let i = 0; i < 3; i++) await limited.register({ email: newEmail(), password: PASSWORD }, ip);
        const email = newEmail();

        const err = await appError(limited.register({ email, password: PASSWORD }, ip));

        expect({ code: err.code, status: err.status }).toEqual({ code: 'TOO_MANY_REQUESTS', status: 429 });
        expect(err.retryAfterSeconds).toBeGreaterThan(3500);
        expect(err.retryAfterSeconds).toBeLessThanOrEqual(3600);
        expect(await db().select().from(users).where(eq(users.email, email))).toHaveLength(0);
        await expect(limited.register({ email, password: PASSWORD }, newIp())).resolves.toMatchObject({ email });
      });

      it('counts parallel registrations from one address exactly, and not the ones that failed', async () => {
        const limited = service(ctx.database, authConfig({ REGISTRATION_LIMIT_PER_HOUR: 3 }));
        const ip = newIp();
        const taken = newEmail();
        await limited.register({ email: taken, password: PASSWORD }, newIp());
        expect((await appError(limited.register({ email: taken, password: PASSWORD }, ip))).code).toBe('EMAIL_TAKEN');

        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => limited.register({ email: newEmail(), password: PASSWORD }, ip)),
        );

        const codes = results
          .map((r) => (r.status === 'fulfilled' ? 'CREATED' : (r.reason as { code: string }).code))
          .sort();
        expect(codes).toEqual([...Array(3).fill('CREATED'), ...Array(5).fill('TOO_MANY_REQUESTS')]);
      });

      it('registers without limit when REGISTRATION_LIMIT_PER_HOUR is 0', async () => {
        const open = service(ctx.database, authConfig({ REGISTRATION_LIMIT_PER_HOUR: 0 }));
        const ip = newIp();
        for (let i = 0; i < 25; i++) await open.register({ email: newEmail(), password: PASSWORD }, ip);
        expect(await db().select().from(registrations).where(eq(registrations.ip, ip))).toHaveLength(0);
      });

      it('refuses an unknown invite code and creates nobody', async () => {
        const email = newEmail();

        const err = await appError(sut.register({ email, password: PASSWORD, inviteCode: 'NOSUCHCODE' }, newIp()));

        expect(err.code).toBe('VALIDATION_FAILED');
        expect(err.details).toEqual([{ path: 'inviteCode', code: 'unknown', message: 'No user has this invite code' }]);
        expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
      });
    });

    describe('login', () => {
      it('issues a Bearer access token for a new current session and a refresh token', async () => {
        const user = await registered(['USER', 'OPERATOR']);

        const tokens = await sut.login({ email: user.email, password: PASSWORD }, newIp());

        expect(tokens).toEqual({
          accessToken: expect.any(String),
          refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          tokenType: 'Bearer',
          expiresIn: 600,
        });
        const claims = decodeJwt(tokens.accessToken);
        expect(claims).toMatchObject({ sub: user.id, roles: ['USER', 'OPERATOR'] });
        const [row] = await sessionRowsOf(user.id);
        expect(claims.sid).toBe(row!.sessionId);
        expect(await principalOf(tokens.accessToken)).toEqual({
          kind: 'user',
          subject: user.id,
          roles: ['USER', 'OPERATOR'],
          sessionId: row!.sessionId,
        });
        expect(await activitiesOf(user.id)).toEqual([
          { id: `login:${row!.sessionId}`, userId: user.id, type: 'LOGIN', occurredAt: expect.any(String) },
        ]);
        const [stored] = await db().select().from(refreshTokens).where(eq(refreshTokens.sessionId, row!.sessionId));
        expect(stored).toMatchObject({ userId: user.id, usedAt: null });
        expect(stored!.tokenHash).not.toBe(tokens.refreshToken);
        expect(stored!.expiresAt.getTime() - Date.now()).toBeGreaterThan(
          config.REFRESH_TOKEN_TTL_SECONDS * 1000 - 60_000,
        );
      });

      it('refuses a wrong password and an unknown email alike, recording each failure', async () => {
        const user = await registered();
        const ip = newIp();
        const nobody = newEmail();

        const wrong = await appError(sut.login({ email: user.email, password: 'not the password' }, ip));
        const unknown = await appError(sut.login({ email: nobody, password: PASSWORD }, ip));

        for (const err of [wrong, unknown]) {
          expect(err.code).toBe('INVALID_CREDENTIALS');
          expect(err.status).toBe(401);
          expect(err.message).toBe('Email or password is wrong');
        }
        expect(await throttleOf(ip)).toEqual({
          '': { failures: 2, pending: 0 },
          [user.email]: { failures: 1, pending: 0 },
          [nobody]: { failures: 1, pending: 0 },
        });
        expect(await sessionRowsOf(user.id)).toEqual([]);
        expect(await activitiesOf(user.id)).toEqual([]);
      });

      it('throttles an account from an address after 10 failures from it, even with the right password, and not other accounts', async () => {
        const user = await registered();
        const other = await registered();
        const ip = newIp();

        for (let i = 0; i < 10; i++)
          expect((await appError(sut.login({ email: user.email, password: `wrong ${i}` }, ip))).code).toBe(
            'INVALID_CREDENTIALS',
          );
        const err = await appError(sut.login({ email: user.email, password: PASSWORD }, ip));

        expect(err.code).toBe('TOO_MANY_ATTEMPTS');
        expect(err.status).toBe(429);
        await expect(sut.login({ email: other.email, password: PASSWORD }, ip)).resolves.toMatchObject({
          tokenType: 'Bearer',
        });
      });

      it("never refuses the owner's right password from a new address, whatever failures other addresses charged", async () => {
        const owner = await registered(['ADMIN']);
        // An attacker spends the account's whole budget from three addresses.
        for (const ip of [newIp(), newIp(), newIp()]) {
          for (let i = 0; i < 10; i++) await appError(sut.login({ email: owner.email, password: `guess ${i}` }, ip));
          expect((await appError(sut.login({ email: owner.email, password: `guess` }, ip))).code).toBe(
            'TOO_MANY_ATTEMPTS',
          );
        }

        const signedIn = await sut.login({ email: owner.email, password: PASSWORD }, newIp());

        expect(signedIn.tokenType).toBe('Bearer');
        expect((await principalOf(signedIn.accessToken)).roles).toEqual(['ADMIN']);
        const rows = await db().select().from(loginThrottle).where(eq(loginThrottle.email, owner.email));
        // Three addresses at the limit, and the owner's own, with nothing on it and nothing in flight.
        expect(rows.map((r) => r.failures.length).sort()).toEqual([0, 10, 10, 10]);
        expect(rows.every((r) => r.pending.length === 0)).toBe(true);
      });

      it('still lets the right password in after 9 failures', async () => {
        const user = await registered();

        for (let i = 0; i < 9; i++) await appError(sut.login({ email: user.email, password: `wrong ${i}` }, newIp()));

        await expect(sut.login({ email: user.email, password: PASSWORD }, newIp())).resolves.toMatchObject({
          tokenType: 'Bearer',
        });
      });

      it('forgets failures older than the window', async () => {
        const user = await registered();
        const longAgo = new Date(Date.now() - (config.LOGIN_FAILURE_WINDOW_SECONDS + 60) * 1000);
        const failures = Array(12).fill(longAgo);
        await db()
          .insert(loginThrottle)
          .values([
            { ip: '192.0.2.1', email: user.email, failures },
            { ip: '192.0.2.1', email: '', failures },
          ]);

        await expect(sut.login({ email: user.email, password: PASSWORD }, '192.0.2.1')).resolves.toMatchObject({
          tokenType: 'Bearer',
        });
      });

      it('throttles a client address after its configured number of failures, across accounts', async () => {
        const strict = service(
          ctx.database,
          authConfig({ ACCESS_TOKEN_TTL_SECONDS: 600, LOGIN_MAX_FAILURES_PER_IP: 3 }),
        );
        const victim = await registered();
        const ip = newIp();

        for (let i = 0; i < 3; i++)
          expect((await appError(strict.login({ email: newEmail(), password: 'guess' }, ip))).code).toBe(
            'INVALID_CREDENTIALS',
          );
        const err = await appError(strict.login({ email: victim.email, password: PASSWORD }, ip));

        expect(err.code).toBe('TOO_MANY_ATTEMPTS');
        await expect(strict.login({ email: victim.email, password: PASSWORD }, newIp())).resolves.toMatchObject({
          tokenType: 'Bearer',
        });
      });

      it('lets no more guesses through than the limit when they arrive at once', async () => {
        const user = await registered();

        const ip = newIp();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => sut.login({ email: user.email, password: `guess ${i}` }, ip)),
        );

        const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code: string }).code : 'SIGNED_IN'));
        expect(codes.filter((c) => c === 'INVALID_CREDENTIALS').length).toBeLessThanOrEqual(10);
        expect(codes.filter((c) => c !== 'INVALID_CREDENTIALS').every((c) => c === 'TOO_MANY_ATTEMPTS')).toBe(true);
        expect((await appError(sut.login({ email: user.email, password: PASSWORD }, ip))).code).toBe(
          'TOO_MANY_ATTEMPTS',
        );
        await expect(sut.login({ email: user.email, password: PASSWORD }, newIp())).resolves.toMatchObject({
          tokenType: 'Bearer',
        });
      });

      it('keeps one session when 20 logins of one user race: the last one wins, the 19 others are revoked as replaced', async () => {
        const user = await registered();

        const logins = await Promise.all(
          Array.from({ length: 20 }, () => sut.login({ email: user.email, password: PASSWORD }, newIp())),
        );

        const sids = logins.map((t) => decodeJwt(t.accessToken).sid as string);
        expect(new Set(sids).size).toBe(20);
        const rows = await sessionRowsOf(user.id);
        expect(rows).toHaveLength(1);
        const current = rows[0]!.sessionId;
        expect(sids).toContain(current);
        const revocations = await revocationsOf(user.id);
        expect(revocations).toHaveLength(19);
        expect(revocations.every((r) => r.reason === 'replaced')).toBe(true);
        expect(revocations.map((r) => r.sessionId).sort()).toEqual(sids.filter((s) => s !== current).sort());
        const outcomes = await Promise.all(
          logins.map((t) =>
            principalOf(t.accessToken).then(
              (p) => p.sessionId,
              (e: { code: string }) => e.code,
            ),
          ),
        );
        expect(outcomes.filter((o) => o === current)).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'UNAUTHENTICATED')).toHaveLength(19);
        expect((await activitiesOf(user.id)).map((a) => a.id).sort()).toEqual(sids.map((sid) => `login:${sid}`).sort());
      });

      it('replaces the previous session on a new login', async () => {
        const user = await registered();
        const first = await sut.login({ email: user.email, password: PASSWORD }, newIp());

        const second = await sut.login({ email: user.email, password: PASSWORD }, newIp());

        expect((await appError(principalOf(first.accessToken))).code).toBe('UNAUTHENTICATED');
        await expect(principalOf(second.accessToken)).resolves.toMatchObject({ subject: user.id });
        expect(await revocationsOf(user.id)).toEqual([
          { sessionId: decodeJwt(first.accessToken).sid, reason: 'replaced' },
        ]);
        expect((await appError(sut.refresh(first.refreshToken))).code).toBe('INVALID_REFRESH_TOKEN');
        expect(await revocationsOf(user.id)).toHaveLength(1);
      });
    });

    describe('refresh', () => {
      it('rotates the refresh token and keeps the session', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        const sid = decodeJwt(login.accessToken).sid;

        const first = await sut.refresh(login.refreshToken);
        const second = await sut.refresh(first.refreshToken);

        expect(first.refreshToken).not.toBe(login.refreshToken);
        expect(second.refreshToken).not.toBe(first.refreshToken);
        for (const tokens of [first, second]) {
          expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 600 });
          expect(decodeJwt(tokens.accessToken)).toMatchObject({ sub: user.id, sid, roles: ['USER'] });
          await expect(principalOf(tokens.accessToken)).resolves.toMatchObject({ subject: user.id, sessionId: sid });
        }
        const rows = await db()
          .select()
          .from(refreshTokens)
          .where(eq(refreshTokens.sessionId, sid as string));
        expect(rows.filter((r) => r.usedAt === null)).toHaveLength(1);
        expect(rows).toHaveLength(3);
      });

      it('carries the current roles into the new access token', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        await db()
          .update(users)
          .set({ roles: ['USER', 'AUDITOR'] })
          .where(eq(users.id, user.id));

        const next = await sut.refresh(login.refreshToken);

        expect(decodeJwt(next.accessToken).roles).toEqual(['USER', 'AUDITOR']);
      });

      it('treats a reused refresh token as leaked: refuses it and revokes the session', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        const sid = decodeJwt(login.accessToken).sid;
        const rotated = await sut.refresh(login.refreshToken);

        const err = await appError(sut.refresh(login.refreshToken));

        expect(err.code).toBe('INVALID_REFRESH_TOKEN');
        expect(err.status).toBe(401);
        expect(await sessionRowsOf(user.id)).toEqual([]);
        expect(await revocationsOf(user.id)).toEqual([{ sessionId: sid, reason: 'refresh-reuse' }]);
        expect((await appError(sut.refresh(rotated.refreshToken))).code).toBe('INVALID_REFRESH_TOKEN');
        expect((await appError(principalOf(rotated.accessToken))).code).toBe('UNAUTHENTICATED');
        expect((await appError(principalOf(login.accessToken))).code).toBe('UNAUTHENTICATED');
      });

      it('lets only one of two concurrent uses of a refresh token through, and then ends the session', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());

        const results = await Promise.allSettled([sut.refresh(login.refreshToken), sut.refresh(login.refreshToken)]);

        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(
          results
            .filter((r) => r.status === 'rejected')
            .map((r) => ((r as PromiseRejectedResult).reason as { code: string }).code),
        ).toEqual(['INVALID_REFRESH_TOKEN']);
        expect((await revocationsOf(user.id)).map((r) => r.reason)).toEqual(['refresh-reuse']);
      });

      it('refuses an unknown refresh token without touching any session', async () => {
        const user = await registered();
        await sut.login({ email: user.email, password: PASSWORD }, newIp());

        expect((await appError(sut.refresh('not-a-token-we-issued'))).code).toBe('INVALID_REFRESH_TOKEN');
        expect(await sessionRowsOf(user.id)).toHaveLength(1);
      });

      it('refuses an expired refresh token', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        await db()
          .update(refreshTokens)
          .set({ expiresAt: sql`now() - interval '1 second'` })
          .where(eq(refreshTokens.userId, user.id));

        expect((await appError(sut.refresh(login.refreshToken))).code).toBe('INVALID_REFRESH_TOKEN');
        expect(await sessionRowsOf(user.id)).toHaveLength(1);
      });

      it('refuses the refresh token of a logged-out session', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        await sut.logout(await principalOf(login.accessToken));

        expect((await appError(sut.refresh(login.refreshToken))).code).toBe('INVALID_REFRESH_TOKEN');
      });
    });

    describe('logout', () => {
      it('ends the session: its tokens stop working and the revocation is published', async () => {
        const user = await registered();
        const login = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        const principal = await principalOf(login.accessToken);

        await sut.logout(principal);

        expect(await sessionRowsOf(user.id)).toEqual([]);
        expect(await revocationsOf(user.id)).toEqual([{ sessionId: principal.sessionId, reason: 'logout' }]);
        expect((await appError(principalOf(login.accessToken))).message).toBe('Session has ended');
      });

      it('does not end a newer session with a stale principal', async () => {
        const user = await registered();
        const first = await sut.login({ email: user.email, password: PASSWORD }, newIp());
        const stale = await principalOf(first.accessToken);
        const second = await sut.login({ email: user.email, password: PASSWORD }, newIp());

        await sut.logout(stale);

        await expect(principalOf(second.accessToken)).resolves.toMatchObject({ subject: user.id });
        expect((await revocationsOf(user.id)).map((r) => r.reason)).toEqual(['replaced']);
      });
    });

    describe(LoginThrottleRepository.name, () => {
      const limits = { perAccount: 2, perIp: 3, windowSeconds: 600 };
      const throttle = new LoginThrottleRepository();
      const nothing = sql<Record<string, never>>`select where false`;
      const reserve = (email: string, ip: string, lookup: SQL = nothing) =>
        throttle.reserve(db(), email, ip, limits, lookup);
      const reserved = (r: Reservation<unknown>): Attempt => {
        if (typeof r !== 'object') throw new Error(`expected a reservation, got ${r}`);
        return r.attempt;
      };

      it('reserves attempts while confirmed failures and attempts in flight stay under the limits', async () => {
        const email = newEmail();
        const ip = newIp();

        const first = reserved(await reserve(email, ip));
        const second = reserved(await reserve(email, ip));
        expect(await reserve(email, ip)).toBe('busy');

        await throttle.confirmFailure(db(), first, limits);
        expect(await reserve(email, ip)).toBe('busy');
        await throttle.release(db(), second);
        const third = reserved(await reserve(email, ip));
        await throttle.confirmFailure(db(), third, limits);

        expect(await reserve(email, ip)).toBe('limited');
        expect(await reserve(email, newIp())).toMatchObject({ attempt: { email } });
        const newcomer = newEmail();
        expect(await reserve(newcomer, ip)).toMatchObject({ attempt: { email: newcomer, ip } });
        // The refused attempts gave their places back; the newcomer's attempt is still in flight.
        expect(await throttleOf(ip)).toEqual({
          '': { failures: 2, pending: 1 },
          [email]: { failures: 2, pending: 0 },
          [newcomer]: { failures: 0, pending: 1 },
        });
      });

      it("runs the caller's lookup in the reserving statement", async () => {
        const user = await registered();

        const found = await reserve(user.email, newIp(), new UserRepository().credentialsByEmail(user.email));
        const missing = await reserve(newEmail(), newIp(), new UserRepository().credentialsByEmail(newEmail()));

        expect(found).toMatchObject({ found: { id: user.id, passwordHash } });
        expect(missing).toMatchObject({ found: undefined });
      });

      it('limits an address across accounts', async () => {
        const ip = newIp();
        for (let i = 0; i < 3; i++)
          await throttle.confirmFailure(db(), reserved(await reserve(newEmail(), ip)), limits);

        expect(await reserve(newEmail(), ip)).toBe('limited');
        expect(await reserve(newEmail(), newIp())).toMatchObject({ attempt: expect.any(Object) });
        expect((await throttleOf(ip))['']).toEqual({ failures: 3, pending: 0 });
      });

      it('ignores failures older than the window and attempts abandoned in flight, and prunes rows with neither', async () => {
        const email = newEmail();
        const ip = newIp();
        const hourAgo = new Date(Date.now() - 3600_000);
        const minuteAgo = new Date(Date.now() - 60_000);
        await db()
          .insert(loginThrottle)
          .values([
            { ip, email, failures: [hourAgo, hourAgo], pending: [minuteAgo, minuteAgo] },
            { ip, email: '', failures: [hourAgo, hourAgo, hourAgo], pending: [minuteAgo] },
          ]);

        const attempt = reserved(await reserve(email, ip));
        expect(await throttleOf(ip)).toEqual({ '': { failures: 0, pending: 1 }, [email]: { failures: 0, pending: 1 } });
        await throttle.release(db(), attempt);
        const stale = newIp();
        await db()
          .insert(loginThrottle)
          .values({ ip: stale, email, failures: [hourAgo], pending: [minuteAgo] });

        await throttle.prune(db(), 1800);
        expect(await throttleOf(ip)).toEqual({});
        expect(await throttleOf(stale)).toEqual({});
      });

      it('gives up only its own place when another attempt started in the same microsecond', async () => {
        const email = newEmail();
        const ip = newIp();
        const attempt = reserved(await reserve(email, ip));
        await db()
          .update(loginThrottle)
          .set({ pending: sql`${loginThrottle.pending} || ${attempt.at}::timestamptz` })
          .where(eq(loginThrottle.ip, ip));

        await throttle.release(db(), attempt);

        expect(await throttleOf(ip)).toEqual({ '': { failures: 0, pending: 1 }, [email]: { failures: 0, pending: 1 } });
      });

      it('lets no more wrong passwords through than the limits when 60 race on one account and 60 on one address', async () => {
        const email = newEmail();
        const ip = newIp();
        const spray = newIp();
        const strict = { perAccount: 5, perIp: 7, windowSeconds: 600 };
        /** An attempt that reserves, checks nothing, and confirms a failure, retrying while busy. */
        const guess = async (account: string, from: string) => {
          for (;;) {
            const r = await throttle.reserve(db(), account, from, strict, nothing);
            if (r === 'limited') return 'limited';
            if (r === 'busy') {
              await new Promise((done) => setTimeout(done, Math.random() * 10));
              continue;
            }
            await new Promise((done) => setTimeout(done, Math.random() * 5));
            await throttle.confirmFailure(db(), r.attempt, strict);
            return 'failed';
          }
        };

        const outcomes = await Promise.all([
          ...Array.from({ length: 60 }, () => guess(email, ip)),
          ...Array.from({ length: 60 }, () => guess(newEmail(), spray)),
        ]);

        expect(outcomes.slice(0, 60).filter((o) => o === 'failed')).toHaveLength(5);
        expect(outcomes.slice(60).filter((o) => o === 'failed')).toHaveLength(7);
        expect((await throttleOf(ip))['']).toEqual({ failures: 5, pending: 0 });
        expect((await throttleOf(spray))['']).toEqual({ failures: 7, pending: 0 });
        expect(await reserve(email, ip)).toBe('limited');
      });
    });

    describe('me', () => {
      it('returns the signed-in user', async () => {
        const user = await registered();

        await expect(
          sut.me({ kind: 'user', subject: user.id, roles: ['USER'], sessionId: randomUUID() }),
        ).resolves.toEqual(user);
      });

      it('refuses a principal whose account is gone', async () => {
        expect((await appError(sut.me({ kind: 'user', subject: randomUUID(), roles: ['USER'] }))).code).toBe(
          'UNAUTHENTICATED',
        );
      });
    });
  });
});
