import { randomBytes, randomUUID } from 'node:crypto';
import type { User } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openServiceDb } from '../support/db.js';
import {
  claimsOf,
  decodeJwtPart,
  expectError,
  expectValidationError,
  ISO_WITH_OFFSET,
  logsText,
  Secrets,
  sleep,
  timeUntil,
  UUID,
} from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

/** Revocation is promised within 1 s; allow for a slow machine. */
const REVOCATION_LIMIT_MS = 1500;
const run = randomBytes(3).toString('hex');
const emailOf = (name: string) => `${name}.${run}@example.com`;

describe('auth API through the gateway', () => {
  let stack: Stack;
  const secrets = new Secrets();
  let adminToken: string;
  let adminUser: User;

  const call: Stack['client']['call'] = (id, opts) => stack.client.call(id, opts);
  const password = (label: string) =>
    secrets.add(`password(${label})`, `pw-${label}-${randomBytes(6).toString('hex')}`);

  async function register(name: string, extra: { displayName?: string; inviteCode?: string } = {}) {
    const pw = password(name);
    const res = await call('register', { body: { email: emailOf(name), password: pw, ...extra } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { user: res.body.user, password: pw };
  }

  async function login(email: string, pw: string) {
    const res = await call('login', { body: { email, password: pw } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    secrets.add('access token', res.body.accessToken);
    secrets.add('refresh token', res.body.refreshToken);
    return res.body;
  }

  const meStatus = async (token: string) => (await call('me', { token })).status;

  beforeAll(async () => {
    stack = await startStack({
      // Request logs included, so the credential check below has something to look through.
      env: { LOG_LEVEL: 'debug' },
    });
    secrets.add('password(admin)', stack.admin.password);
    adminToken = (await login(stack.admin.email, stack.admin.password)).accessToken;
    adminUser = (await call('me', { token: adminToken })).body.user;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // ---- register -----------------------------------------------------------------------------

  let alice: { user: User; password: string };

  it('registers a USER with an invite code and returns exactly the user', async () => {
    const pw = password('alice');
    const before = Date.now();
    const res = await call('register', { body: { email: emailOf('alice'), password: pw, displayName: 'Alice A.' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(['user']);
    const user = res.body.user;
    expect(Object.keys(user).sort()).toEqual(['createdAt', 'displayName', 'email', 'id', 'inviteCode', 'roles']);
    expect(user).toEqual({
      id: expect.stringMatching(UUID),
      email: emailOf('alice'),
      displayName: 'Alice A.',
      roles: ['USER'],
      inviteCode: expect.stringMatching(/^[A-Z0-9]{6,32}$/),
      createdAt: expect.stringMatching(ISO_WITH_OFFSET),
    });
    expect(Math.abs(Date.parse(user.createdAt) - before)).toBeLessThan(60_000);
    alice = { user, password: pw };
  });

  it('lower-cases the email and defaults the display name', async () => {
    const pw = password('mixed');
    const res = await call('register', { body: { email: `  MiXeD.${run}@Example.COM `, password: pw } });
    expect(res.status).toBe(201);
    expect(res.body.user.email).toBe(emailOf('mixed'));
    expect(res.body.user.displayName).toBe(`mixed.${run}`);
    expect(res.body.user.roles).toEqual(['USER']);
  });

  it('accepts a password of exactly 8 characters', async () => {
    const pw = secrets.add('password(eight)', randomBytes(4).toString('hex'));
    expect(pw).toHaveLength(8);
    const res = await call('register', { body: { email: emailOf('eight'), password: pw } });
    expect(res.status).toBe(201);
    expect((await call('login', { body: { email: emailOf('eight'), password: pw } })).status).toBe(200);
  });

  it('refuses a taken email with 409 EMAIL_TAKEN, whatever its case', async () => {
    for (const email of [emailOf('alice'), emailOf('alice').toUpperCase(), ` ${emailOf('Alice')}`]) {
      const res = await call('register', { body: { email, password: password('dup') } });
      expectError(res, 409, 'EMAIL_TAKEN');
    }
  });

  it('refuses invalid registrations with 400 VALIDATION_FAILED naming the fields', async () => {
    const cases: Array<[unknown, string[]]> = [
      [{ email: emailOf('short'), password: 'seven77' }, ['password']],
      [{ email: 'not-an-email', password: 'long enough password' }, ['email']],
      [{ email: `${run}@`, password: 'long enough password' }, ['email']],
      [{ email: emailOf('nopw') }, ['password']],
      [{ password: 'long enough password' }, ['email']],
      [{ email: emailOf('twobad'), password: 'x', displayName: '' }, ['password', 'displayName']],
      [{ email: emailOf('longpw'), password: 'p'.repeat(257) }, ['password']],
      [{ email: emailOf('num'), password: 12345678 }, ['password']],
    ];
    for (const [body, paths] of cases) {
      expectValidationError(await call('register', { body }), paths);
    }
  });

  it('refuses extra fields (no self-granted roles)', async () => {
    for (const extra of [{ roles: ['ADMIN'] }, { isAdmin: true }, { id: randomUUID() }]) {
      const res = await call('register', {
        body: { email: emailOf('extra'), password: 'long enough password', ...extra },
      });
      const [detail] = expectValidationError(res, ['']);
      expect(detail!.code).toBe('unrecognized_keys');
      expect(detail!.message).toContain(Object.keys(extra)[0]);
    }
    // None of the attempts created the account.
    const login = await call('login', { body: { email: emailOf('extra'), password: 'long enough password' } });
    expectError(login, 401, 'INVALID_CREDENTIALS');
  });

  it('parallel registrations of one email create exactly one account', async () => {
    const pw = password('twin');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call('register', { body: { email: i % 2 ? emailOf('twin').toUpperCase() : emailOf('twin'), password: pw } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of results) if (r.status === 409) expectError(r, 409, 'EMAIL_TAKEN');
  });

  it('refuses a missing or non-object body', async () => {
    expectError(await call('register', {}), 400, 'VALIDATION_FAILED');
    expectError(await call('register', { body: [] }), 400, 'VALIDATION_FAILED');
    expectError(await call('register', { body: 'null' }), 400, 'VALIDATION_FAILED');
  });

  let bob: { user: User; password: string };

  it("registers with a friend's invite code (any case)", async () => {
    bob = await register('bob', { inviteCode: alice.user.inviteCode });
    expect(bob.user.roles).toEqual(['USER']);
    expect(bob.user.inviteCode).not.toBe(alice.user.inviteCode);
    const carol = await register('carol', { inviteCode: alice.user.inviteCode.toLowerCase() });
    expect(carol.user.roles).toEqual(['USER']);
  });

  it('refuses an unknown invite code with 400 and creates no account', async () => {
    const res = await call('register', {
      body: { email: emailOf('uninvited'), password: 'long enough password', inviteCode: 'NOSUCHCODE9' },
    });
    const [detail] = expectValidationError(res, ['inviteCode']);
    expect(detail!.code).toBe('unknown');
    // The email is still free: the failed attempt left nothing behind.
    const retry = await call('register', { body: { email: emailOf('uninvited'), password: password('uninvited') } });
    expect(retry.status).toBe(201);
  });

  // ---- login --------------------------------------------------------------------------------

  it('signs in with the token response shape and a verifiable access token', async () => {
    const res = await call('login', { body: { email: emailOf('alice'), password: alice.password } });
    expect(res.status).toBe(200);
    secrets.add('access token', res.body.accessToken);
    secrets.add('refresh token', res.body.refreshToken);
    expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
    expect(res.body.tokenType).toBe('Bearer');
    expect(typeof res.body.expiresIn).toBe('number');
    expect(Number.isInteger(res.body.expiresIn)).toBe(true);
    expect(res.body.expiresIn).toBe(900);
    expect(typeof res.body.refreshToken).toBe('string');
    expect(res.body.refreshToken.length).toBeGreaterThanOrEqual(32);
    const header = decodeJwtPart<{ alg: string; kid: string }>(res.body.accessToken, 0);
    expect(header.alg).toBe('ES256');
    expect(typeof header.kid).toBe('string');
    const claims = claimsOf(res.body.accessToken);
    expect(claims.sub).toBe(alice.user.id);
    expect(claims.roles).toEqual(['USER']);
    expect(claims.sid).toMatch(UUID);
    expect(claims.exp - claims.iat).toBe(res.body.expiresIn);
    const me = await call('me', { token: res.body.accessToken });
    expect(me.status).toBe(200);
  });

  it('treats the email case-insensitively at sign-in', async () => {
    await login(emailOf('alice').toUpperCase(), alice.password);
  });

  it('refuses a wrong password and an unknown email alike with 401 INVALID_CREDENTIALS', async () => {
    const wrong = expectError(
      await call('login', { body: { email: emailOf('alice'), password: `${alice.password}x` } }),
      401,
      'INVALID_CREDENTIALS',
    );
    const unknown = expectError(
      await call('login', { body: { email: emailOf('nobody'), password: alice.password } }),
      401,
      'INVALID_CREDENTIALS',
    );
    expect(unknown.message).toBe(wrong.message);
    expect(wrong.details).toBeUndefined();
    expect(unknown.details).toBeUndefined();
  });

  it('refuses malformed sign-ins with 400', async () => {
    expectValidationError(await call('login', { body: { email: emailOf('alice') } }), ['password']);
    expectValidationError(await call('login', { body: { email: 'nope', password: 'x' } }), ['email']);
    expectValidationError(await call('login', { body: { email: emailOf('alice'), password: '' } }), ['password']);
    expectValidationError(
      await call('login', { body: { email: emailOf('alice'), password: alice.password, remember: true } }),
      [''],
    );
  });

  // ---- me -----------------------------------------------------------------------------------

  it('GET /auth/me returns exactly the signed-in user', async () => {
    const { accessToken } = await login(emailOf('alice'), alice.password);
    const res = await call('me', { token: accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: alice.user });
  });

  it('GET /auth/me without a token is 401 UNAUTHENTICATED', async () => {
    expectError(await call('me', {}), 401, 'UNAUTHENTICATED');
  });

  // ---- sessions -----------------------------------------------------------------------------

  it('a replaced session is refused within 1 s (login twice)', async () => {
    const first = await login(emailOf('bob'), bob.password);
    expect(await meStatus(first.accessToken)).toBe(200);
    const second = await login(emailOf('bob'), bob.password);
    await sleep(1000);
    expectError(await call('me', { token: first.accessToken }), 401, 'UNAUTHENTICATED');
    expect(await meStatus(second.accessToken)).toBe(200);
    expectError(await call('refresh', { body: { refreshToken: first.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    // The refused refresh of a replaced session does not end the current one.
    expect(await meStatus(second.accessToken)).toBe(200);
  });

  const race: { userId?: string; winnerSid?: string; loserSids?: string[] } = {};

  it('20 parallel logins of one user leave exactly one working session', async () => {
    const racer = await register('racer');
    race.userId = racer.user.id;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call('login', { body: { email: emailOf('racer'), password: racer.password } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (const r of results) {
      secrets.add('access token', r.body.accessToken);
      secrets.add('refresh token', r.body.refreshToken);
    }
    const sids = results.map((r) => claimsOf(r.body.accessToken).sid);
    expect(new Set(sids).size).toBe(20);
    await sleep(1000);
    const me = await Promise.all(results.map((r) => call('me', { token: r.body.accessToken })));
    const working = me.flatMap((r, i) => (r.status === 200 ? [i] : []));
    expect(working).toHaveLength(1);
    for (const [i, r] of me.entries()) if (i !== working[0]) expectError(r, 401, 'UNAUTHENTICATED');
    expect(me[working[0]!]!.body.user.id).toBe(racer.user.id);
    race.winnerSid = sids[working[0]!];
    race.loserSids = sids.filter((s) => s !== race.winnerSid);

    // Only the winner's refresh token rotates; the other 19 belong to replaced sessions.
    const refreshed = await Promise.all(
      results.map((r) => call('refresh', { body: { refreshToken: r.body.refreshToken } })),
    );
    const refreshable = refreshed.flatMap((r, i) => (r.status === 200 ? [i] : []));
    expect(refreshable).toEqual(working);
    for (const [i, r] of refreshed.entries()) if (i !== working[0]) expectError(r, 401, 'INVALID_REFRESH_TOKEN');
    const rotated = refreshed[working[0]!]!.body;
    secrets.add('access token', rotated.accessToken);
    secrets.add('refresh token', rotated.refreshToken);
    expect(claimsOf(rotated.accessToken).sid).toBe(race.winnerSid);
  });

  // ---- refresh ------------------------------------------------------------------------------

  it('rotates refresh tokens; reusing a spent one revokes the whole session', async () => {
    const dave = await register('dave');
    const l = await login(emailOf('dave'), dave.password);
    const r1 = await call('refresh', { body: { refreshToken: l.refreshToken } });
    expect(r1.status).toBe(200);
    expect(Object.keys(r1.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
    expect(r1.body.tokenType).toBe('Bearer');
    expect(r1.body.expiresIn).toBe(900);
    secrets.add('access token', r1.body.accessToken);
    secrets.add('refresh token', r1.body.refreshToken);
    expect(r1.body.refreshToken).not.toBe(l.refreshToken);
    expect(r1.body.accessToken).not.toBe(l.accessToken);
    // Rotation stays within the session.
    expect(claimsOf(r1.body.accessToken).sid).toBe(claimsOf(l.accessToken).sid);
    expect(claimsOf(r1.body.accessToken).sub).toBe(dave.user.id);
    expect(await meStatus(r1.body.accessToken)).toBe(200);

    const r2 = await call('refresh', { body: { refreshToken: r1.body.refreshToken } });
    expect(r2.status).toBe(200);
    secrets.add('access token', r2.body.accessToken);
    secrets.add('refresh token', r2.body.refreshToken);
    expect(await meStatus(r2.body.accessToken)).toBe(200);

    // The spent token comes back: refused, and the session it belongs to ends.
    expectError(await call('refresh', { body: { refreshToken: l.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    const ms = await timeUntil(async () => (await meStatus(r2.body.accessToken)) === 401, REVOCATION_LIMIT_MS);
    expect(ms).toBeLessThanOrEqual(REVOCATION_LIMIT_MS);
    expectError(await call('me', { token: r2.body.accessToken }), 401, 'UNAUTHENTICATED');
    expectError(await call('refresh', { body: { refreshToken: r2.body.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    // The user can sign in again.
    const again = await login(emailOf('dave'), dave.password);
    expect(await meStatus(again.accessToken)).toBe(200);
  });

  it('the same refresh token presented twice at once: one rotation, then the session is revoked', async () => {
    const l = await login(emailOf('alice'), alice.password);
    const [a, b] = await Promise.all([
      call('refresh', { body: { refreshToken: l.refreshToken } }),
      call('refresh', { body: { refreshToken: l.refreshToken } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
    const winner = a.status === 200 ? a : b;
    expectError(a.status === 200 ? b : a, 401, 'INVALID_REFRESH_TOKEN');
    secrets.add('access token', winner.body.accessToken);
    secrets.add('refresh token', winner.body.refreshToken);
    // The second presentation is a reuse: the session, and so the winner's new tokens, end.
    await timeUntil(async () => (await meStatus(winner.body.accessToken)) === 401, REVOCATION_LIMIT_MS);
    expectError(
      await call('refresh', { body: { refreshToken: winner.body.refreshToken } }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
  });

  it('refuses unknown and malformed refresh tokens', async () => {
    expectError(
      await call('refresh', { body: { refreshToken: randomBytes(32).toString('base64url') } }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
    expectValidationError(await call('refresh', { body: { refreshToken: '' } }), ['refreshToken']);
    expectValidationError(await call('refresh', { body: {} }), ['refreshToken']);
    expectValidationError(await call('refresh', { body: { refreshToken: 'x'.repeat(513) } }), ['refreshToken']);
    expectValidationError(await call('refresh', { body: { refreshToken: 'abc', extra: 1 } }), ['']);
  });

  it('an access token is not a refresh token', async () => {
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(await call('refresh', { body: { refreshToken: accessToken } }), 401, 'INVALID_REFRESH_TOKEN');
    expect(await meStatus(accessToken)).toBe(200);
  });

  // ---- logout -------------------------------------------------------------------------------

  it('logout answers 204 and ends the session within 1 s', async () => {
    const l = await login(emailOf('alice'), alice.password);
    const res = await call('logout', { token: l.accessToken });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    const ms = await timeUntil(async () => (await meStatus(l.accessToken)) === 401, REVOCATION_LIMIT_MS);
    expect(ms).toBeLessThanOrEqual(REVOCATION_LIMIT_MS);
    expectError(await call('me', { token: l.accessToken }), 401, 'UNAUTHENTICATED');
    expectError(await call('refresh', { body: { refreshToken: l.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    expectError(await call('logout', { token: l.accessToken }), 401, 'UNAUTHENTICATED');
  });

  it('logout without a token is 401', async () => {
    expectError(await call('logout', {}), 401, 'UNAUTHENTICATED');
  });

  // ---- users (ADMIN) ------------------------------------------------------------------------

  it('GET /users is for ADMIN only', async () => {
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(await call('listUsers', { token: accessToken }), 403, 'FORBIDDEN');
    expectError(await call('listUsers', {}), 401, 'UNAUTHENTICATED');
  });

  it('GET /users lists users in the page shape, filtered by role and email', async () => {
    const all = await call('listUsers', { token: adminToken, query: { limit: 100 } });
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(['items', 'nextCursor']);
    expect(all.body.nextCursor).toBeNull();
    const byId = new Map(all.body.items.map((u: User) => [u.id, u]));
    expect(byId.size).toBe(all.body.items.length);
    expect(byId.get(alice.user.id)).toEqual(alice.user);
    expect(byId.get(adminUser.id)).toEqual(adminUser);
    for (const u of all.body.items as User[]) {
      expect(Object.keys(u).sort()).toEqual(['createdAt', 'displayName', 'email', 'id', 'inviteCode', 'roles']);
      expect(u.createdAt).toMatch(ISO_WITH_OFFSET);
    }
    // Default page size is 20; this file has registered fewer.
    const dflt = await call('listUsers', { token: adminToken });
    expect(dflt.body.items).toEqual(all.body.items);

    const admins = await call('listUsers', { token: adminToken, query: { role: 'ADMIN' } });
    expect(admins.status).toBe(200);
    expect(admins.body).toEqual({ items: [adminUser], nextCursor: null });

    const users = await call('listUsers', { token: adminToken, query: { role: 'USER', limit: 100 } });
    expect(users.body.items.map((u: User) => u.id).sort()).toEqual(
      (all.body.items as User[])
        .filter((u) => u.roles.includes('USER'))
        .map((u) => u.id)
        .sort(),
    );
    expect(users.body.items.some((u: User) => u.id === adminUser.id)).toBe(false);

    for (const email of [emailOf('alice'), emailOf('alice').toUpperCase()]) {
      const one = await call('listUsers', { token: adminToken, query: { email } });
      expect(one.body).toEqual({ items: [alice.user], nextCursor: null });
    }
    const none = await call('listUsers', { token: adminToken, query: { email: `nobody.${run}@example.com` } });
    expect(none.body).toEqual({ items: [], nextCursor: null });
    const mismatch = await call('listUsers', { token: adminToken, query: { role: 'ADMIN', email: emailOf('alice') } });
    expect(mismatch.body).toEqual({ items: [], nextCursor: null });
  });

  it('GET /users treats LIKE wildcards in the email filter literally', async () => {
    for (const email of ['%', '_', '%@%', '\\']) {
      const res = await call('listUsers', { token: adminToken, query: { email } });
      expect({ email, status: res.status, body: res.body }).toEqual({
        email,
        status: 200,
        body: { items: [], nextCursor: null },
      });
    }
  });

  it('GET /users walks every user once with limit=1 cursors', async () => {
    const all = await call('listUsers', { token: adminToken, query: { limit: 100 } });
    const expected = (all.body.items as User[]).map((u) => u.id);
    expect(expected.length).toBeGreaterThanOrEqual(8);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 200; page++) {
      const res = await call('listUsers', { token: adminToken, query: { limit: 1, cursor } });
      expect(res.status).toBe(200);
      expect(res.body.items).toHaveLength(1);
      seen.push(res.body.items[0].id);
      if (res.body.nextCursor === null) break;
      expect(typeof res.body.nextCursor).toBe('string');
      cursor = res.body.nextCursor;
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
  });

  it('GET /users refuses bad queries with 400', async () => {
    const bad: Array<[Record<string, string | number>, string]> = [
      [{ limit: 0 }, 'limit'],
      [{ limit: 101 }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ role: 'SUPERUSER' }, 'role'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ sort: 'email' }, ''],
    ];
    for (const [query, path] of bad) {
      expectValidationError(await call('listUsers', { token: adminToken, query }), [path]);
    }
  });

  // ---- roles (ADMIN) ------------------------------------------------------------------------

  it("PUT /users/{id}/roles replaces the roles and ends the user's session within 1 s", async () => {
    const erin = await register('erin');
    const l = await login(emailOf('erin'), erin.password);
    expect(await meStatus(l.accessToken)).toBe(200);
    const res = await call('setRoles', {
      token: adminToken,
      params: { id: erin.user.id },
      body: { roles: ['USER', 'OPERATOR'] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: { ...erin.user, roles: ['USER', 'OPERATOR'] } });
    const ms = await timeUntil(async () => (await meStatus(l.accessToken)) === 401, REVOCATION_LIMIT_MS);
    expect(ms).toBeLessThanOrEqual(REVOCATION_LIMIT_MS);
    expectError(await call('me', { token: l.accessToken }), 401, 'UNAUTHENTICATED');
    expectError(await call('refresh', { body: { refreshToken: l.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
    // A new sign-in carries the new roles.
    const again = await login(emailOf('erin'), erin.password);
    expect(claimsOf(again.accessToken).roles).toEqual(['USER', 'OPERATOR']);
    expect((await call('me', { token: again.accessToken })).body.user.roles).toEqual(['USER', 'OPERATOR']);
    // Still not an admin.
    expectError(await call('listUsers', { token: again.accessToken }), 403, 'FORBIDDEN');
  });

  it('a user promoted to ADMIN can administer, and can be demoted again', async () => {
    const fred = await register('fred');
    const promoted = await call('setRoles', {
      token: adminToken,
      params: { id: fred.user.id },
      body: { roles: ['ADMIN'] },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.user.roles).toEqual(['ADMIN']);
    const fredToken = (await login(emailOf('fred'), fred.password)).accessToken;
    const list = await call('listUsers', { token: fredToken, query: { role: 'ADMIN' } });
    expect(list.status).toBe(200);
    expect(list.body.items.map((u: User) => u.id).sort()).toEqual([adminUser.id, fred.user.id].sort());
    const demoted = await call('setRoles', {
      token: adminToken,
      params: { id: fred.user.id },
      body: { roles: ['USER'] },
    });
    expect(demoted.status).toBe(200);
    expect(demoted.body.user.roles).toEqual(['USER']);
    await timeUntil(async () => (await meStatus(fredToken)) === 401, REVOCATION_LIMIT_MS);
    expectError(await call('listUsers', { token: fredToken }), 401, 'UNAUTHENTICATED');
  });

  it('PUT /users/{id}/roles: 404 for an unknown user, 400 for bad input, 403 for non-admins', async () => {
    expectError(
      await call('setRoles', { token: adminToken, params: { id: randomUUID() }, body: { roles: ['USER'] } }),
      404,
      'NOT_FOUND',
    );
    expectValidationError(
      await call('setRoles', { token: adminToken, params: { id: 'not-a-uuid' }, body: { roles: ['USER'] } }),
      ['id'],
    );
    const id = alice.user.id;
    const badBodies: Array<[unknown, string]> = [
      [{ roles: ['SUPERUSER'] }, 'roles.0'],
      [{ roles: [] }, 'roles'],
      [{ roles: ['USER', 'USER'] }, 'roles'],
      [{ roles: 'ADMIN' }, 'roles'],
      [{}, 'roles'],
      [{ roles: ['USER'], note: 'x' }, ''],
    ];
    for (const [body, path] of badBodies) {
      expectValidationError(await call('setRoles', { token: adminToken, params: { id }, body }), [path]);
    }
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(
      await call('setRoles', { token: accessToken, params: { id }, body: { roles: ['ADMIN'] } }),
      403,
      'FORBIDDEN',
    );
    expectError(await call('setRoles', { params: { id }, body: { roles: ['ADMIN'] } }), 401, 'UNAUTHENTICATED');
    // None of it changed alice.
    expect((await call('me', { token: accessToken })).body.user.roles).toEqual(['USER']);
  });

  it('the last ADMIN cannot remove their own ADMIN role (409 INVALID_STATE)', async () => {
    for (const roles of [['USER'], ['OPERATOR', 'AUDITOR']]) {
      const res = await call('setRoles', { token: adminToken, params: { id: adminUser.id }, body: { roles } });
      expectError(res, 409, 'INVALID_STATE');
    }
    // Nothing changed: same roles, same session.
    const me = await call('me', { token: adminToken });
    expect(me.status).toBe(200);
    expect(me.body.user.roles).toEqual(['ADMIN']);
  });

  // ---- API keys (ADMIN) ---------------------------------------------------------------------

  const apiKeys: Array<{ id: string; name: string; key: string }> = [];

  it('POST /api-keys returns the key once, as {id, name, scopes, key, expiresAt, createdAt}', async () => {
    for (const name of ['game-server-1', 'game-server-1', '  game-server-2  ']) {
      const res = await call('createApiKey', { token: adminToken, body: { name } });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'key', 'name', 'scopes']);
      expect(res.body.id).toMatch(UUID);
      expect(res.body.name).toBe(name.trim());
      expect(res.body.scopes).toEqual(['activities:write']);
      expect(res.body.expiresAt).toBeNull();
      expect(res.body.createdAt).toMatch(ISO_WITH_OFFSET);
      expect(typeof res.body.key).toBe('string');
      expect(res.body.key.length).toBeGreaterThanOrEqual(32);
      apiKeys.push(res.body);
      secrets.add('api key', res.body.key);
    }
    expect(new Set(apiKeys.map((k) => k.id)).size).toBe(3);
    expect(new Set(apiKeys.map((k) => k.key)).size).toBe(3);
  });

  it('POST /api-keys: 400 for bad input, 403 for non-admins, 401 without a token', async () => {
    expectValidationError(await call('createApiKey', { token: adminToken, body: {} }), ['name']);
    expectValidationError(await call('createApiKey', { token: adminToken, body: { name: '   ' } }), ['name']);
    expectValidationError(await call('createApiKey', { token: adminToken, body: { name: 'n'.repeat(101) } }), ['name']);
    expectValidationError(await call('createApiKey', { token: adminToken, body: { name: 'k', scope: 'admin' } }), ['']);
    expectValidationError(await call('createApiKey', { token: adminToken, body: { name: 'k', scopes: ['admin'] } }), [
      'scopes.0',
    ]);
    expectValidationError(await call('createApiKey', { token: adminToken, body: { name: 'k', scopes: [] } }), [
      'scopes',
    ]);
    expectValidationError(
      await call('createApiKey', { token: adminToken, body: { name: 'k', scopes: ['grants:read', 'grants:read'] } }),
      ['scopes'],
    );
    expectValidationError(
      await call('createApiKey', { token: adminToken, body: { name: 'k', expiresAt: '2020-01-01T00:00:00Z' } }),
      ['expiresAt'],
    );
    expectValidationError(
      await call('createApiKey', { token: adminToken, body: { name: 'k', expiresAt: 'tomorrow' } }),
      ['expiresAt'],
    );
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(await call('createApiKey', { token: accessToken, body: { name: 'mine' } }), 403, 'FORBIDDEN');
    expectError(await call('createApiKey', { body: { name: 'mine' } }), 401, 'UNAUTHENTICATED');
  });

  it('an API key is exchanged by the gateway for activity ingestion, and for nothing else', async () => {
    const { key } = apiKeys[0]!;
    const activity = {
      id: `e2e-${run}-1`,
      userId: alice.user.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    };
    const first = await call('ingestActivities', { apiKey: key, body: { activities: [activity] } });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body).toEqual({ accepted: 1, duplicates: 0 });
    const again = await call('ingestActivities', { apiKey: key, body: { activities: [activity] } });
    expect(again.body).toEqual({ accepted: 0, duplicates: 1 });
    // A key that was never issued is refused.
    const forged = `rk_${randomBytes(32).toString('base64url')}`;
    expectError(
      await call('ingestActivities', { apiKey: forged, body: { activities: [activity] } }),
      401,
      'UNAUTHENTICATED',
    );
    // Elsewhere a valid key is a known caller without the right: 403; as a bearer token it is no token at all.
    expectError(await call('me', { apiKey: key }), 403, 'FORBIDDEN');
    expectError(await call('listUsers', { apiKey: key }), 403, 'FORBIDDEN');
    expectError(await call('createApiKey', { apiKey: key, body: { name: 'escalate' } }), 403, 'FORBIDDEN');
    expectError(await call('me', { token: key }), 401, 'UNAUTHENTICATED');
    expectError(await call('me', { apiKey: forged }), 401, 'UNAUTHENTICATED');
  });

  it('GET /api-keys lists the keys newest first with scopes, expiry and last use, never the key', async () => {
    const res = await call('listApiKeys', { token: adminToken, query: { limit: 100 } });
    expect(res.status).toBe(200);
    const mine = (res.body.items as Array<Record<string, unknown>>).filter((k) => apiKeys.some((a) => a.id === k.id));
    expect(mine.map((k) => k.id)).toEqual(apiKeys.map((k) => k.id).reverse());
    const used = mine.find((k) => k.id === apiKeys[0]!.id)!;
    expect(used).toEqual({
      id: apiKeys[0]!.id,
      name: 'game-server-1',
      scopes: ['activities:write'],
      expiresAt: null,
      createdAt: expect.stringMatching(ISO_WITH_OFFSET),
      lastUsedAt: expect.stringMatching(ISO_WITH_OFFSET),
      revokedAt: null,
    });
    expect(mine.find((k) => k.id === apiKeys[2]!.id)!.lastUsedAt).toBeNull();
    const text = JSON.stringify(res.body);
    for (const k of apiKeys) expect(text).not.toContain(k.key);
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(await call('listApiKeys', { token: accessToken }), 403, 'FORBIDDEN');
    expectError(await call('listApiKeys', { apiKey: apiKeys[0]!.key }), 403, 'FORBIDDEN');
    expectValidationError(await call('listApiKeys', { token: adminToken, query: { cursor: 'nope' } }), ['cursor']);
  });

  it('a key is accepted only on routes its scopes allow', async () => {
    const res = await call('createApiKey', { token: adminToken, body: { name: 'feed-only', scopes: ['grants:read'] } });
    expect(res.status).toBe(201);
    expect(res.body.scopes).toEqual(['grants:read']);
    secrets.add('api key', res.body.key);
    const activity = {
      id: `e2e-${run}-scoped`,
      userId: alice.user.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    };
    const refused = expectError(
      await call('ingestActivities', { apiKey: res.body.key, body: { activities: [activity] } }),
      403,
      'FORBIDDEN',
    );
    expect(refused.message).toBe('This API key lacks the scope activities:write');
  });

  it('DELETE /api-keys/{id} revokes a key in use: refused (401) within 1 s, listed as revoked, audited', async () => {
    const { id, key } = apiKeys[1]!;
    const activity = (n: number) => ({
      id: `e2e-${run}-revoke-${n}`,
      userId: alice.user.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    });
    // In use: the gateway holds a token exchanged for it.
    expect((await call('ingestActivities', { apiKey: key, body: { activities: [activity(0)] } })).status).toBe(202);

    const revoked = await call('revokeApiKey', { token: adminToken, params: { id } });
    expect(revoked.status).toBe(204);
    let n = 1;
    const ms = await timeUntil(
      async () =>
        (await call('ingestActivities', { apiKey: key, body: { activities: [activity(n++)] } })).status === 401,
      REVOCATION_LIMIT_MS,
    );
    expect(ms).toBeLessThanOrEqual(REVOCATION_LIMIT_MS);
    expectError(
      await call('ingestActivities', { apiKey: key, body: { activities: [activity(n++)] } }),
      401,
      'UNAUTHENTICATED',
    );
    // The other keys keep working.
    expect(
      (await call('ingestActivities', { apiKey: apiKeys[0]!.key, body: { activities: [activity(n++)] } })).status,
    ).toBe(202);

    const listed = (await call('listApiKeys', { token: adminToken, query: { limit: 100 } })).body.items.find(
      (k: { id: string }) => k.id === id,
    );
    expect(listed.revokedAt).toMatch(ISO_WITH_OFFSET);
    // Revoking again changes nothing; an unknown key is 404; only admins revoke.
    expect((await call('revokeApiKey', { token: adminToken, params: { id } })).status).toBe(204);
    expectError(await call('revokeApiKey', { token: adminToken, params: { id: randomUUID() } }), 404, 'NOT_FOUND');
    expectValidationError(await call('revokeApiKey', { token: adminToken, params: { id: 'not-a-uuid' } }), ['id']);
    const { accessToken } = await login(emailOf('alice'), alice.password);
    expectError(await call('revokeApiKey', { token: accessToken, params: { id: apiKeys[0]!.id } }), 403, 'FORBIDDEN');
    expectError(
      await call('revokeApiKey', { apiKey: apiKeys[0]!.key, params: { id: apiKeys[0]!.id } }),
      403,
      'FORBIDDEN',
    );

    const entries = await (async () => {
      for (let i = 0; i < 50; i++) {
        const res = await call('auditLog', { token: adminToken, query: { action: 'api-key.revoke' } });
        const found = (res.body.items as Array<{ targetId: string }>).filter((e) => e.targetId === id);
        if (found.length) return found;
        await sleep(100);
      }
      return [];
    })();
    expect(entries).toEqual([
      expect.objectContaining({
        actorId: adminUser.id,
        action: 'api-key.revoke',
        targetType: 'api-key',
        targetId: id,
        before: { id, name: 'game-server-1', scopes: ['activities:write'], expiresAt: null, revokedAt: null },
        after: {
          id,
          name: 'game-server-1',
          scopes: ['activities:write'],
          expiresAt: null,
          revokedAt: listed.revokedAt,
        },
      }),
    ]);
  });

  it('an API key past its expiresAt is refused (401)', async () => {
    const expiresAt = new Date(Date.now() + 4000).toISOString();
    const res = await call('createApiKey', { token: adminToken, body: { name: 'short-lived', expiresAt } });
    expect(res.status).toBe(201);
    expect(res.body.expiresAt).toBe(expiresAt);
    secrets.add('api key', res.body.key);
    const activity = (n: number) => ({
      id: `e2e-${run}-expiry-${n}`,
      userId: alice.user.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    });
    expect((await call('ingestActivities', { apiKey: res.body.key, body: { activities: [activity(0)] } })).status).toBe(
      202,
    );
    await sleep(Date.parse(expiresAt) - Date.now() + 1100);
    expectError(
      await call('ingestActivities', { apiKey: res.body.key, body: { activities: [activity(1)] } }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('two admins removing each other at once leave exactly one ADMIN', async () => {
    const gina = await register('gina');
    expect(
      (await call('setRoles', { token: adminToken, params: { id: gina.user.id }, body: { roles: ['ADMIN'] } })).status,
    ).toBe(200);
    const ginaToken = (await login(emailOf('gina'), gina.password)).accessToken;
    const [byAdmin, byGina] = await Promise.all([
      call('setRoles', { token: adminToken, params: { id: gina.user.id }, body: { roles: ['USER'] } }),
      call('setRoles', { token: ginaToken, params: { id: adminUser.id }, body: { roles: ['USER'] } }),
    ]);
    const outcomes = [byAdmin, byGina];
    // Exactly one change goes through; the other finds itself the last admin (409) or already demoted (401).
    expect(outcomes.filter((r) => r.status === 200)).toHaveLength(1);
    const loser = outcomes.find((r) => r.status !== 200)!;
    if (loser.status === 409) expectError(loser, 409, 'INVALID_STATE');
    else expectError(loser, 401, 'UNAUTHENTICATED');

    const survivor =
      byAdmin.status === 200
        ? { email: stack.admin.email, password: stack.admin.password }
        : { email: emailOf('gina'), password: gina.password };
    const survivorToken = (await login(survivor.email, survivor.password)).accessToken;
    const admins = await call('listUsers', { token: survivorToken, query: { role: 'ADMIN' } });
    expect(admins.status).toBe(200);
    expect(admins.body.items).toHaveLength(1);
    expect(admins.body.items[0].email).toBe(survivor.email);
  });

  // ---- what was stored and logged (auth is stopped from here on) ----------------------------

  it('the database holds one session for the raced user and no plaintext credential', async () => {
    await stack.kill('auth');
    const db = await openServiceDb(stack, 'auth');
    try {
      const sessions = await db.query<{ session_id: string }>('select session_id from sessions where user_id = $1', [
        race.userId,
      ]);
      expect(sessions).toEqual([{ session_id: race.winnerSid }]);
      const revoked = await db.query<{ session_id: string; reason: string }>(
        'select session_id, reason from session_revocations where user_id = $1',
        [race.userId],
      );
      expect(revoked.map((r) => r.session_id).sort()).toEqual([...race.loserSids!].sort());
      expect(new Set(revoked.map((r) => r.reason))).toEqual(new Set(['replaced']));

      const [bobRow] = await db.query<{ invited_by: string }>('select invited_by from users where id = $1', [
        bob.user.id,
      ]);
      expect(bobRow!.invited_by).toBe(alice.user.id);
      const [aliceRow] = await db.query<{ password_hash: string; invited_by: string | null }>(
        'select password_hash, invited_by from users where id = $1',
        [alice.user.id],
      );
      expect(aliceRow!.invited_by).toBeNull();
      expect(aliceRow!.password_hash).toMatch(/^\$argon2id\$/);

      const keys = await db.query<{ id: string; name: string; key_hash: string; revoked_at: unknown }>(
        'select id, name, key_hash, revoked_at from api_keys order by created_at',
      );
      // The three above, the grants-only key and the short-lived one.
      expect(keys).toHaveLength(apiKeys.length + 2);
      expect(keys.map((k) => k.id)).toEqual(expect.arrayContaining(apiKeys.map((k) => k.id)));
      for (const created of apiKeys) {
        const row = keys.find((k) => k.id === created.id)!;
        expect(row.name).toBe(created.name);
        // The second was revoked above.
        if (created === apiKeys[1]) expect(row.revoked_at).toBeInstanceOf(Date);
        else expect(row.revoked_at).toBeNull();
        expect(row.key_hash).not.toBe(created.key);
        expect(row.key_hash).not.toContain(created.key);
        expect(created.key).not.toContain(row.key_hash);
      }

      // No table holds a password, token or API key as sent or received.
      const dump = await db.dump();
      expect(Object.keys(dump)).toEqual(expect.arrayContaining(['users', 'sessions', 'refresh_tokens', 'api_keys']));
      expect(dump.refresh_tokens!.length).toBeGreaterThan(20);
      const hits = Object.entries(dump).flatMap(([table, rows]) =>
        secrets.foundIn(JSON.stringify(rows), `table ${table}`),
      );
      expect(hits).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('the logs hold no password, token or API key', () => {
    const kinds = secrets.kinds();
    for (const kind of ['access token', 'refresh token', 'api key', 'password(admin)', 'password(alice)'])
      expect(kinds).toContain(kind);
    expect(secrets.size).toBeGreaterThan(60);
    const texts = logsText(stack.logs);
    // The check has material: every sign-in attempt above was logged.
    const logins = texts.auth!.split('\n').filter((l) => l.includes('/api/v1/auth/login'));
    expect(logins.length).toBeGreaterThan(40);
    const hits = Object.entries(texts).flatMap(([name, text]) => secrets.foundIn(text, `${name} log`));
    expect(hits).toEqual([]);
  });
});
