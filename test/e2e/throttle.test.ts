import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, logsText, Secrets } from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Failed sign-ins are throttled per account (10 in 15 minutes) and per IP (100). This file has a
 * stack of its own: every request here comes from 127.0.0.1, so once the IP limit is reached no one
 * can sign in on this stack. Counts below are exact, so the tests run in order.
 */
describe('sign-in throttling', () => {
  let stack: Stack;
  const secrets = new Secrets();
  const run = randomBytes(3).toString('hex');
  const accounts: Record<string, { email: string; password: string }> = {};
  /** Failed sign-ins recorded for 127.0.0.1 so far. */
  let ipFailures = 0;
  let adminToken: string;

  const login = (email: string, password: string, headers?: Record<string, string>) =>
    stack.client.call('login', { body: { email, password }, headers });

  async function fail(email: string) {
    const res = await login(email, secrets.add('password(wrong)', `wrong-${randomBytes(4).toString('hex')}`));
    expectError(res, 401, 'INVALID_CREDENTIALS');
    ipFailures++;
  }

  beforeAll(async () => {
    // On PostgreSQL when there is one: the parallel cases below are real races there.
    stack = await startStack({ env: { LOG_LEVEL: 'debug', REGISTRATION_LIMIT_PER_HOUR: '6' } });
    const admin = await stack.client.call('login', {
      body: { email: stack.admin.email, password: stack.admin.password },
    });
    adminToken = secrets.add('access token', admin.body.accessToken);
    secrets.add('password(admin)', stack.admin.password);
    for (const name of ['target', 'bystander', 'victim', 'burst']) {
      const email = `${name}.${run}@example.com`;
      const password = secrets.add(`password(${name})`, `pw-${randomBytes(8).toString('hex')}`);
      const res = await stack.client.call('register', { body: { email, password } });
      expect(res.status).toBe(201);
      accounts[name] = { email, password };
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('the 11th attempt on an account after 10 failures is 429, even with the right password', async () => {
    const { email, password } = accounts.target!;
    for (let i = 0; i < 10; i++) await fail(email);
    expectError(await login(email, password), 429, 'TOO_MANY_ATTEMPTS');
    expectError(await login(email, 'still wrong'), 429, 'TOO_MANY_ATTEMPTS');
    // Same account however the email is spelled.
    expectError(await login(email.toUpperCase(), password), 429, 'TOO_MANY_ATTEMPTS');
    expectError(await login(`  ${email} `, password), 429, 'TOO_MANY_ATTEMPTS');
  });

  it('the account limit does not lock out other accounts', async () => {
    const { email, password } = accounts.bystander!;
    const res = await login(email, password);
    expect(res.status).toBe(200);
    secrets.add('access token', res.body.accessToken);
    secrets.add('refresh token', res.body.refreshToken);
  });

  it('nine failures leave an account usable (the limit is 10)', async () => {
    const { email, password } = accounts.victim!;
    for (let i = 0; i < 9; i++) await fail(email);
    const res = await login(email, password);
    expect(res.status).toBe(200);
    secrets.add('access token', res.body.accessToken);
    secrets.add('refresh token', res.body.refreshToken);
  });

  it('a burst of parallel guesses gets exactly 10 tries, not one per request', async () => {
    const { email, password } = accounts.burst!;
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        login(email, secrets.add('password(wrong)', `wrong-${randomBytes(4).toString('hex')}`)),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(15).fill(429)]);
    for (const r of results) expectError(r, r.status, r.status === 401 ? 'INVALID_CREDENTIALS' : 'TOO_MANY_ATTEMPTS');
    ipFailures += 10;
    expectError(await login(email, password), 429, 'TOO_MANY_ATTEMPTS');
  });

  it('after 100 failures from one IP (many emails), other accounts get 429 too', async () => {
    expect(ipFailures).toBe(29);
    // Up to 99 failures, in parallel batches over distinct unknown emails.
    let n = 0;
    while (ipFailures < 99) {
      const batch = Math.min(10, 99 - ipFailures);
      await Promise.all(Array.from({ length: batch }, () => fail(`spray${n++}.${run}@example.com`)));
    }
    // Still under the limit: a correct sign-in works.
    const { email, password } = accounts.bystander!;
    const ok = await login(email, password);
    expect(ok.status).toBe(200);
    secrets.add('access token', ok.body.accessToken);
    secrets.add('refresh token', ok.body.refreshToken);
    await fail(`spray${n++}.${run}@example.com`);
    expect(ipFailures).toBe(100);
    expectError(await login(email, password), 429, 'TOO_MANY_ATTEMPTS');
    expectError(await login(accounts.victim!.email, accounts.victim!.password), 429, 'TOO_MANY_ATTEMPTS');
    expectError(await login(`fresh.${run}@example.com`, 'whatever'), 429, 'TOO_MANY_ATTEMPTS');
  });

  it('a client-supplied X-Forwarded-For does not get around the IP limit', async () => {
    const { email, password } = accounts.bystander!;
    const spoofs: Array<Record<string, string>> = [
      { 'x-forwarded-for': '203.0.113.7' },
      { 'x-forwarded-for': '203.0.113.8, 198.51.100.9' },
      { 'x-real-ip': '203.0.113.10' },
      { forwarded: 'for=203.0.113.11' },
      { 'x-forwarded-for': '203.0.113.12', 'x-real-ip': '203.0.113.12', forwarded: 'for=203.0.113.12' },
    ];
    for (const headers of spoofs) {
      const res = await login(email, password, headers);
      expect({ headers, status: res.status }).toEqual({ headers, status: 429 });
      expectError(res, 429, 'TOO_MANY_ATTEMPTS');
    }
  });

  it('routes other than sign-in are not throttled', async () => {
    const res = await stack.client.call('register', {
      body: { email: `late.${run}@example.com`, password: secrets.add('password(late)', `pw-${run}-late1`) },
    });
    expect(res.status).toBe(201);
  });

  it('registrations from one address: the 7th within an hour is 429 with Retry-After, and creates nobody', async () => {
    // Five so far (four accounts and `late`); the limit on this stack is 6.
    const sixth = await stack.client.call('register', {
      body: { email: `sixth.${run}@example.com`, password: secrets.add('password(sixth)', `pw-${run}-sixth`) },
    });
    expect(sixth.status).toBe(201);
    const email = `farm.${run}@example.com`;
    const seventh = await stack.client.call('register', {
      body: {
        email,
        password: secrets.add('password(farm)', `pw-${run}-farm1`),
        inviteCode: sixth.body.user.inviteCode,
      },
    });
    expectError(seventh, 429, 'TOO_MANY_REQUESTS');
    const wait = Number(seventh.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
    const found = await stack.client.call('listUsers', { token: adminToken, query: { email } });
    expect(found.status).toBe(200);
    expect(found.body.items).toEqual([]);
  });

  it('the logs hold no password or token', () => {
    const texts = logsText(stack.logs);
    expect(texts.auth!.split('\n').filter((l) => l.includes('/api/v1/auth/login')).length).toBeGreaterThan(100);
    const hits = Object.entries(texts).flatMap(([name, text]) => secrets.foundIn(text, `${name} log`));
    expect(hits).toEqual([]);
  });
});
