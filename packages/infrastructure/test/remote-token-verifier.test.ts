import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@rewards/contracts';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { RemoteTokenVerifier } from '../src/remote-token-verifier.js';

const SECRET = 'internal-secret-for-tests-0123456789abcdef';
const logger = createLogger('test', 'silent');

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

interface TokenOptions {
  kid?: string | null;
  issuer?: string;
  audience?: string;
  expiresAt?: number | string;
  claims?: JWTPayload;
}

function sign(key: SigningKey, sub: string, sid: string, opts: TokenOptions = {}): Promise<string> {
  const header = opts.kid === null ? { alg: 'ES256' } : { alg: 'ES256', kid: opts.kid ?? key.kid, typ: 'JWT' };
  return new SignJWT({ sid, roles: ['USER'], ...opts.claims })
    .setProtectedHeader(header)
    .setIssuer(opts.issuer ?? TOKEN_ISSUER)
    .setAudience(opts.audience ?? TOKEN_AUDIENCE)
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresAt ?? '5m')
    .sign(key.privateKey);
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Stands in for the auth service over HTTP: its JWKS and its feed of revoked sessions,
 * which answers only callers presenting the internal secret.
 */
class FakeAuth {
  keys: JWK[] = [];
  revoked: { sessionId: string; expiresAt: string }[] = [];
  feedStatus = 200;
  jwksStatus = 200;
  /**
   * What it does with `wait` (a long poll): 'ignore' answers at once (as an auth that cannot listen
   * for commits does), 'hold' keeps the read until `answerHeld`, 'refuse' answers 400 (an auth that
   * predates the parameter).
   */
  waitMode: 'ignore' | 'hold' | 'refuse' = 'ignore';
  /** Positions it hands out, and whether it reads only its own (an instance of another version). */
  positionPrefix = '';
  ownPositionsOnly = false;
  jwksFetches: number[] = [];
  feedRequests: { after: string | null; next: string; wait: string | null }[] = [];
  held: (() => void)[] = [];
  /** Held reads whose connection the caller closed before an answer. */
  abandoned = 0;
  /** Every read of the feed, answered or not. */
  feedHits = 0;
  private server: Server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answers every held read with the feed as it now is. */
  answerHeld(): void {
    for (const answer of this.held.splice(0)) answer();
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://auth');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      this.jwksFetches.push(Date.now());
      if (this.jwksStatus !== 200) return json(this.jwksStatus, { error: { code: 'UNAVAILABLE', message: 'down' } });
      return json(200, { keys: this.keys });
    }
    if (req.method === 'GET' && url.pathname === '/internal/revocations') {
      this.feedHits++;
      if (req.headers['x-internal-secret'] !== SECRET)
        return json(401, { error: { code: 'UNAUTHENTICATED', message: 'no' } });
      if (this.feedStatus !== 200) return json(this.feedStatus, { error: { code: 'UNAVAILABLE', message: 'down' } });
      const wait = url.searchParams.get('wait');
      if (wait !== null && this.waitMode === 'refuse') {
        this.feedRequests.push({ after: url.searchParams.get('after'), next: 'refused', wait });
        return json(400, { error: { code: 'VALIDATION_FAILED', message: 'unknown parameter' } });
      }
      const after = url.searchParams.get('after');
      if (this.ownPositionsOnly && after !== null && !after.startsWith(this.positionPrefix)) {
        this.feedRequests.push({ after, next: 'refused', wait });
        return json(400, {
          error: {
            code: 'VALIDATION_FAILED',
            message: 'Request is invalid',
            details: [{ path: 'after', code: 'invalid_format', message: 'Invalid string' }],
          },
        });
      }
      const next = `${this.positionPrefix}${1000 + this.feedRequests.length}.0`;
      this.feedRequests.push({ after: url.searchParams.get('after'), next, wait });
      if (wait !== null && this.waitMode === 'hold') {
        let answered = false;
        this.held.push(() => {
          answered = true;
          json(200, { items: this.revoked, next });
        });
        res.on('close', () => {
          if (!answered) this.abandoned++;
        });
        return;
      }
      return json(200, { items: this.revoked, next });
    }
    return json(404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Moves Date.now() forward (timers keep real time): the verifier spaces JWKS refetches a second apart. */
function skipAhead(ms: number): void {
  const realNow = Date.now.bind(Date);
  const offset = ms;
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe(RemoteTokenVerifier.name, () => {
  let key1: SigningKey;
  let key2: SigningKey;
  let stranger: SigningKey;
  let auth: FakeAuth;
  let authUrl: string;
  let sut: RemoteTokenVerifier;

  beforeAll(async () => {
    [key1, key2, stranger] = await Promise.all([signingKey('key-1'), signingKey('key-2'), signingKey('key-1')]);
  });

  beforeEach(async () => {
    auth = new FakeAuth();
    auth.keys = [key1.publicJwk];
    authUrl = await auth.start();
  });

  afterEach(async () => {
    sut?.stop();
    vi.restoreAllMocks();
    await auth.stop();
  });

  async function startVerifier(opts: { internalSecret?: string; revocationPollMs?: number; authUrls?: string[] } = {}) {
    sut = new RemoteTokenVerifier({
      authUrls: opts.authUrls ?? [authUrl],
      internalSecret: opts.internalSecret ?? SECRET,
      logger,
      revocationPollMs: opts.revocationPollMs,
    });
    sut.start();
  }

  async function startReady() {
    await startVerifier();
    await until(() => sut.ready);
  }

  it('turns a valid token into a user principal', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1', { claims: { roles: ['USER', 'OPERATOR'] } });

    await expect(sut.verify(token)).resolves.toEqual({
      kind: 'user',
      subject: 'user-1',
      roles: ['USER', 'OPERATOR'],
      sessionId: 'session-1',
    });
  });

  it('turns an API-key token into an api-key principal', async () => {
    await startReady();
    const token = await sign(key1, 'key-id-1', 'key-id-1', {
      claims: { kind: 'api-key', scope: 'activities:write grants:read', roles: [] },
    });

    await expect(sut.verify(token)).resolves.toEqual({
      kind: 'api-key',
      subject: 'key-id-1',
      roles: [],
      sessionId: 'key-id-1',
      scopes: ['activities:write', 'grants:read'],
    });
  });

  it('is not ready before keys and revocations are loaded, and ready after', async () => {
    auth.feedStatus = 503;
    await startVerifier();
    await until(() => auth.jwksFetches.length === 1);
    await sleep(50);

    expect(sut.ready).toBe(false);

    auth.feedStatus = 200;
    await until(() => sut.ready);
    expect(sut.ready).toBe(true);
  });

  it('refuses a token signed by a key auth does not publish', async () => {
    await startReady();
    const other = await signingKey('key-unknown');
    const token = await sign(other, 'user-1', 'session-1');

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Token was signed by an unknown key');
  });

  it('refuses a token claiming a published kid but signed by another key', async () => {
    await startReady();
    const token = await sign(stranger, 'user-1', 'session-1');

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Token is invalid or expired');
  });

  it('refuses a token without a key id', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1', { kid: null });

    expect((await rejection(sut.verify(token))).message).toBe('Token has no key id');
  });

  it('refuses an expired token', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1', { expiresAt: Math.floor(Date.now() / 1000) - 5 });

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.status).toBe(401);
  });

  it('refuses a token for another audience', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1', { audience: 'some-other-app' });

    expect((await rejection(sut.verify(token))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token from another issuer', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1', { issuer: 'https://evil.example' });

    expect((await rejection(sut.verify(token))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unsigned token (alg none)', async () => {
    await startReady();
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64url({ alg: 'none', kid: key1.kid, typ: 'JWT' })}.${b64url({
      iss: TOKEN_ISSUER,
      aud: TOKEN_AUDIENCE,
      sub: 'user-1',
      sid: 'session-1',
      roles: ['ADMIN'],
      iat: now,
      exp: now + 300,
    })}.`;

    expect((await rejection(sut.verify(token))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token whose payload was altered after signing', async () => {
    await startReady();
    const [header, , signature] = (await sign(key1, 'user-1', 'session-1')).split('.');
    const now = Math.floor(Date.now() / 1000);
    const forged = `${header}.${b64url({ iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, sub: 'user-1', sid: 'session-1', roles: ['ADMIN'], exp: now + 300 })}.${signature}`;

    expect((await rejection(sut.verify(forged))).code).toBe('UNAUTHENTICATED');
  });

  it('refuses a user token without a session id', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'ignored', { claims: { sid: undefined } });

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Token is missing required claims');
  });

  it('refuses malformed tokens', async () => {
    await startReady();

    for (const token of ['', 'not-a-jwt', 'a.b.c', `${b64url({ alg: 'ES256' })}`]) {
      const err = await rejection(sut.verify(token));
      expect(err.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a token of a revoked session within a second of the revocation', async () => {
    await startReady();
    const token = await sign(key1, 'user-1', 'session-to-revoke');
    const other = await sign(key1, 'user-2', 'session-kept');
    await expect(sut.verify(token)).resolves.toMatchObject({ sessionId: 'session-to-revoke' });

    const revokedAt = Date.now();
    auth.revoked.push({ sessionId: 'session-to-revoke', expiresAt: new Date(revokedAt + 600_000).toISOString() });
    let refusal: AppError | undefined;
    while (!refusal && Date.now() - revokedAt < 2000) {
      refusal = await sut.verify(token).then(
        () => undefined,
        (e: AppError) => e,
      );
      if (!refusal) await sleep(20);
    }

    expect(refusal?.code).toBe('UNAUTHENTICATED');
    expect(refusal?.message).toBe('Session has ended');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    await expect(sut.verify(other)).resolves.toMatchObject({ subject: 'user-2', sessionId: 'session-kept' });
  });

  it("sends the internal secret and passes the feed's cursor back as `after`", async () => {
    await startReady();
    await until(() => auth.feedRequests.length >= 3);

    const [first, second, third] = auth.feedRequests;
    expect(first!.after).toBeNull();
    expect(second!.after).toBe(first!.next);
    expect(third!.after).toBe(second!.next);
  });

  it('answers 503 for user tokens until the revocation feed has been read once', async () => {
    auth.feedStatus = 500;
    await startVerifier();
    await until(() => auth.jwksFetches.length === 1);
    const token = await sign(key1, 'user-1', 'session-1');

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.message).toBe('Session state is not available yet');

    auth.feedStatus = 200;
    await until(() => sut.ready);
    await expect(sut.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
  });

  it('never syncs the feed with a wrong internal secret, and then accepts no token: an API key could be revoked too', async () => {
    await startVerifier({ internalSecret: 'wrong-secret-wrong-secret-wrong-secret' });
    await until(() => auth.jwksFetches.length === 1);
    await sleep(300);
    const userToken = await sign(key1, 'user-1', 'session-1');
    const keyToken = await sign(key1, 'key-id-1', 'key-id-1', {
      claims: { kind: 'api-key', scope: 'activities:write' },
    });

    expect(sut.ready).toBe(false);
    expect((await rejection(sut.verify(userToken))).code).toBe('UNAVAILABLE');
    expect((await rejection(sut.verify(keyToken))).code).toBe('UNAVAILABLE');
  });

  it('answers 503 while no keys could be loaded at all', async () => {
    await auth.stop();
    await startVerifier();
    const token = await sign(key1, 'user-1', 'session-1');

    const err = await rejection(sut.verify(token));

    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toBe('Token keys are not available yet');
  });

  it('becomes ready on its own when auth starts after it', async () => {
    const keys = auth.keys;
    auth.keys = [];
    await startVerifier({ revocationPollMs: 50 });
    await until(() => auth.jwksFetches.length >= 1);
    expect(sut.ready).toBe(false);

    auth.keys = keys; // auth has come up and published its key
    await until(() => sut.ready);
    await expect(sut.verify(await sign(key1, 'user-1', 'session-1'))).resolves.toMatchObject({ subject: 'user-1' });
  });

  it('keeps verifying with the last known keys and revocations when auth goes away', async () => {
    auth.revoked.push({ sessionId: 'session-gone', expiresAt: new Date(Date.now() + 600_000).toISOString() });
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1');
    const revoked = await sign(key1, 'user-3', 'session-gone');

    await auth.stop();
    await sleep(600);

    expect(sut.ready).toBe(true);
    await expect(sut.verify(token)).resolves.toMatchObject({ subject: 'user-1', sessionId: 'session-1' });
    expect((await rejection(sut.verify(revoked))).message).toBe('Session has ended');
    // A token with an unknown key makes it try auth again, fail, and keep the old keys.
    const newKid = await sign(key2, 'user-1', 'session-1');
    skipAhead(1100);
    expect((await rejection(sut.verify(newKid))).code).toBe('UNAUTHENTICATED');
    await expect(sut.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
  });

  it('turns to the next auth instance when one does not answer', async () => {
    const down = new FakeAuth();
    const downUrl = await down.start();
    await down.stop();
    await startVerifier({ authUrls: [downUrl, authUrl] });
    await until(() => sut.ready);
    auth.revoked.push({ sessionId: 'session-gone', expiresAt: new Date(Date.now() + 600_000).toISOString() });

    await expect(sut.verify(await sign(key1, 'user-1', 'session-1'))).resolves.toMatchObject({ subject: 'user-1' });
    await until(() => auth.feedRequests.length >= 3);
    expect((await rejection(sut.verify(await sign(key1, 'user-2', 'session-gone')))).message).toBe('Session has ended');
  });

  it('once in step, waits at auth for the next revocation, and refuses its token as soon as it is answered', async () => {
    auth.waitMode = 'hold';
    await startReady();
    await until(() => auth.held.length === 1);
    const token = await sign(key1, 'user-1', 'session-1');
    await expect(sut.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    await sleep(800);
    // The first read answers at once (to get in step); the second is held, and nothing else is asked.
    expect(auth.feedRequests).toEqual([
      { after: null, next: '1000.0', wait: null },
      { after: '1000.0', next: '1001.0', wait: '10' },
    ]);

    auth.revoked.push({ sessionId: 'session-1', expiresAt: new Date(Date.now() + 600_000).toISOString() });
    const answeredAt = Date.now();
    auth.answerHeld();
    await until(() =>
      sut.verify(token).then(
        () => false,
        () => true,
      ),
    );
    expect(Date.now() - answeredAt).toBeLessThan(200);
    expect((await rejection(sut.verify(token))).message).toBe('Session has ended');
    // The next read carries the new position and waits again.
    await until(() => auth.held.length === 1);
    expect(auth.feedRequests.at(-1)).toEqual({ after: '1001.0', next: '1002.0', wait: '10' });
  });

  it('spaces reads revocationPollMs apart when auth answers each at once, held or not', async () => {
    await startVerifier({ revocationPollMs: 200 });
    await until(() => sut.ready);
    const from = auth.feedRequests.length;
    await sleep(1000);

    const reads = auth.feedRequests.length - from;
    expect(reads).toBeGreaterThanOrEqual(3);
    expect(reads).toBeLessThanOrEqual(6);
    expect(auth.feedRequests.slice(from).every((r) => r.wait === '10')).toBe(true);
  });

  it('falls back to reading at every interval when auth refuses the wait parameter, and still refuses revoked sessions', async () => {
    auth.waitMode = 'refuse';
    await startVerifier({ revocationPollMs: 50 });
    await until(() => sut.ready);
    await until(() => auth.feedRequests.length >= 4);
    auth.revoked.push({ sessionId: 'session-gone', expiresAt: new Date(Date.now() + 600_000).toISOString() });

    const token = await sign(key1, 'user-2', 'session-gone');
    await until(
      () =>
        sut.verify(token).then(
          () => false,
          () => true,
        ),
      1000,
    );
    // It asked to wait once, was refused, and has not asked again since.
    const asked = auth.feedRequests.filter((r) => r.wait !== null);
    expect(asked).toEqual([{ after: '1000.0', next: 'refused', wait: '10' }]);
    expect(auth.feedRequests.length).toBeGreaterThanOrEqual(5);
  });

  it('reads the feed from its start when no auth instance reads its position (a rollback), still refusing revoked ones', async () => {
    auth.waitMode = 'hold';
    auth.positionPrefix = 'v2-';
    await startReady();
    await until(() => auth.held.length === 1);
    // Auth is rolled back to a version that reads only its own positions.
    auth.positionPrefix = 'v1-';
    auth.ownPositionsOnly = true;
    auth.answerHeld();
    await until(() => auth.held.length === 1);
    auth.revoked.push({ sessionId: 'session-rolled', expiresAt: new Date(Date.now() + 600_000).toISOString() });
    auth.answerHeld();

    const token = await sign(key1, 'user-3', 'session-rolled');
    await until(
      () =>
        sut.verify(token).then(
          () => false,
          () => true,
        ),
      2000,
    );
    const refused = auth.feedRequests.findIndex((r) => r.next === 'refused');
    expect(auth.feedRequests[refused]).toEqual({ after: expect.stringMatching(/^v2-/), next: 'refused', wait: '10' });
    // Read again from the start, and on from there; the refusal named the position, so reads still wait.
    expect(auth.feedRequests[refused + 1]).toEqual({ after: null, next: expect.stringMatching(/^v1-/), wait: '10' });
    expect(auth.feedRequests.filter((r) => r.next === 'refused')).toHaveLength(1);
    await until(() => auth.held.length === 1);
    expect(auth.feedRequests.at(-1)).toEqual({
      after: auth.feedRequests[refused + 1]!.next,
      next: expect.stringMatching(/^v1-/),
      wait: '10',
    });
  });

  it('starts each read at the auth instance that answered last, not always at the first', async () => {
    const failing = new FakeAuth();
    failing.feedStatus = 503;
    failing.jwksStatus = 503;
    const failingUrl = await failing.start();
    try {
      await startVerifier({ authUrls: [failingUrl, authUrl], revocationPollMs: 50 });
      await until(() => sut.ready);
      const hits = failing.feedHits;
      await until(() => auth.feedRequests.length >= 6);

      expect(hits).toBeGreaterThanOrEqual(1);
      expect(failing.feedHits).toBe(hits);
    } finally {
      await failing.stop();
    }
  });

  it('abandons a held read when stopped, so the process can exit', async () => {
    auth.waitMode = 'hold';
    await startReady();
    await until(() => auth.held.length === 1);

    sut.stop();

    await until(() => auth.abandoned === 1);
    await sleep(300);
    expect(auth.feedRequests).toHaveLength(2);
  });

  it('fetches the JWKS again when a token carries a new kid, and accepts the rotated key', async () => {
    await startReady();
    const before = await sign(key1, 'user-1', 'session-1');
    auth.keys = [key2.publicJwk, key1.publicJwk];
    const after = await sign(key2, 'user-1', 'session-1');
    // Refetches on an unknown kid are spaced at least a second apart.
    skipAhead(1100);
    const fetches = auth.jwksFetches.length;

    await expect(sut.verify(after)).resolves.toMatchObject({ subject: 'user-1', sessionId: 'session-1' });

    expect(auth.jwksFetches.length).toBe(fetches + 1);
    await expect(sut.verify(before)).resolves.toMatchObject({ subject: 'user-1' });
    await expect(sut.verify(after)).resolves.toMatchObject({ subject: 'user-1' });
    expect(auth.jwksFetches.length).toBe(fetches + 1);
  });

  it('forgets tokens it verified when their key is withdrawn', async () => {
    auth.keys = [key1.publicJwk, key2.publicJwk];
    await startReady();
    const token = await sign(key1, 'user-1', 'session-1');
    await expect(sut.verify(token)).resolves.toMatchObject({ subject: 'user-1' });
    auth.keys = [key2.publicJwk];
    skipAhead(1100);
    // A token with an unknown kid makes the verifier fetch the keys again, without key-1.
    await rejection(sut.verify(await sign(stranger, 'user-2', 'session-2', { kid: 'key-3' })));

    const err = await rejection(sut.verify(token));
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('fetches the JWKS once for concurrent tokens with a new kid', async () => {
    await startReady();
    auth.keys = [key1.publicJwk, key2.publicJwk];
    skipAhead(1100);
    const fetches = auth.jwksFetches.length;
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => sign(key2, `user-${i}`, `session-${i}`)));

    const principals = await Promise.all(tokens.map((t) => sut.verify(t)));

    expect(principals.map((p) => p.subject)).toEqual(tokens.map((_, i) => `user-${i}`));
    expect(auth.jwksFetches.length).toBe(fetches + 1);
  });

  it('does not let unknown kids hammer auth: at most one refetch a second', async () => {
    await startReady();
    skipAhead(1100);
    const fetches = auth.jwksFetches.length;
    const bogus = await signingKey('bogus');

    for (let i = 0; i < 5; i++) {
      expect((await rejection(sut.verify(await sign(bogus, 'u', 's', { kid: `bogus-${i}` })))).code).toBe(
        'UNAUTHENTICATED',
      );
    }

    expect(auth.jwksFetches.length).toBe(fetches + 1);
  });
});
