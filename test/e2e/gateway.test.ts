import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { routeList } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, decodeJwtPart, expectError, logsText, Secrets, sleep, UUID } from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/** The gateway's own behaviour: request ids, limits, routing, ops endpoints, and a dead upstream. */
describe('gateway', () => {
  let stack: Stack;
  const secrets = new Secrets();
  const run = randomBytes(3).toString('hex');
  let user: { email: string; password: string };

  async function raw(path: string, init: RequestInit = {}, base?: string): Promise<Raw> {
    const res = await fetch(`${base ?? stack.gatewayUrl}${path}`, init);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  }

  async function login() {
    const res = await stack.client.call('login', { body: user });
    expect(res.status).toBe(200);
    secrets.add('access token', res.body.accessToken);
    secrets.add('refresh token', res.body.refreshToken);
    return res.body;
  }

  beforeAll(async () => {
    stack = await startStack({ env: { LOG_LEVEL: 'debug' } });
    secrets.add('password(admin)', stack.admin.password);
    user = { email: `gw.${run}@example.com`, password: secrets.add('password(user)', `pw-${randomBytes(8).toString('hex')}`) };
    expect((await stack.client.call('register', { body: user })).status).toBe(201);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // ---- request ids ----------------------------------------------------------------------------

  it('echoes a valid X-Request-Id on success and in error bodies', async () => {
    const id = `e2e-${run}-ok.1:a`;
    const ok = await stack.client.call('login', { body: user, headers: { 'x-request-id': id } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe(id);
    secrets.add('access token', ok.body.accessToken);
    secrets.add('refresh token', ok.body.refreshToken);

    const upstreamError = await stack.client.call('login', { body: { ...user, password: 'wrong password' }, headers: { 'x-request-id': `${id}-401` } });
    expectError(upstreamError, 401, 'INVALID_CREDENTIALS');
    expect(upstreamError.body.requestId).toBe(`${id}-401`);

    const gatewayError = await raw('/api/v1/no-such-route', { headers: { 'x-request-id': `${id}-404` } });
    expectError(gatewayError, 404, 'NOT_FOUND');
    expect((gatewayError.body as { requestId: string }).requestId).toBe(`${id}-404`);

    const ops = await raw('/healthz', { headers: { 'x-request-id': `${id}-hz` } });
    expect(ops.status).toBe(200);
    expect(ops.headers.get('x-request-id')).toBe(`${id}-hz`);
  });

  it('generates a request id when none or an invalid one is given', async () => {
    const seen = new Set<string>();
    for (const given of [undefined, 'has spaces in it', 'x'.repeat(129), 'semi;colon', '']) {
      const headers: Record<string, string> = given === undefined ? {} : { 'x-request-id': given };
      const ok = await raw('/healthz', { headers });
      expect(ok.status).toBe(200);
      const okId = ok.headers.get('x-request-id')!;
      expect(okId).toMatch(UUID);
      const err = await stack.client.call('me', { headers });
      expectError(err, 401, 'UNAUTHENTICATED');
      expect(err.body.requestId).toMatch(UUID);
      seen.add(okId).add(err.body.requestId);
    }
    expect(seen.size).toBe(10);
  });

  // ---- bodies ---------------------------------------------------------------------------------

  it('refuses a body over 1 MB with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = JSON.stringify({ email: user.email, password: 'p'.repeat(1_100_000) });
    const res = await raw('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    const res2 = await raw('/api/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `big-${run}` },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expectError(res2, 413, 'PAYLOAD_TOO_LARGE');
    expect((res2.body as { requestId: string }).requestId).toBe(`big-${run}`);
  });

  it('a body just under 1 MB reaches validation (400, not 413)', async () => {
    const body = JSON.stringify({ email: user.email, password: 'p'.repeat(1_000_000) });
    expect(body.length).toBeLessThan(1_048_576);
    const res = await raw('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const error = expectError(res, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ path: 'password' })]);
  });

  it('refuses malformed JSON with 400 in the error shape', async () => {
    for (const body of ['{"email": ', '{email: "a"}', '{"a":1}}', 'undefined']) {
      const res = await raw('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expectError(res, 400, 'VALIDATION_FAILED');
    }
  });

  // ---- routing --------------------------------------------------------------------------------

  it('answers unknown routes with 404 NOT_FOUND in the error shape', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/nope'],
      ['POST', '/api/v1/auth/nope'],
      ['GET', '/api/v1'],
      ['GET', '/api/v2/auth/me'],
      ['GET', '/nope'],
    ] as const) {
      const res = await raw(path, { method });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expectError(res, 404, 'NOT_FOUND');
    }
  });

  it('does not route internal endpoints, even with the service credential', async () => {
    const secret = { 'x-internal-secret': stack.internalSecret };
    const cases: Array<[string, string, Record<string, string>?, string?]> = [
      ['GET', '/internal/revocations'],
      ['GET', '/internal/revocations', secret],
      ['GET', '/api/v1/internal/revocations', secret],
      ['POST', '/api/v1/internal/api-keys/exchange', { ...secret, 'content-type': 'application/json' }, '{"key":"rk_x"}'],
      ['POST', '/internal/api-keys/exchange', { ...secret, 'content-type': 'application/json' }, '{"key":"rk_x"}'],
      ['GET', '/api/v1/%2e%2e/internal/revocations', secret],
    ];
    for (const [method, path, headers, body] of cases) {
      const res = await raw(path, { method, headers, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expectError(res, 404, 'NOT_FOUND');
    }
    // A path that climbs out of /api/v1 without being normalised by the client.
    const climbed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${stack.gatewayUrl}/api/v1/auth/../../internal/revocations`, { headers: secret }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(climbed.status).toBe(404);
    expect(JSON.parse(climbed.body).error.code).toBe('NOT_FOUND');
  });

  it("auth's internal endpoints require the service credential", async () => {
    expectError(await raw('/internal/revocations', {}, stack.authUrl), 401, 'UNAUTHENTICATED');
    expectError(await raw('/internal/revocations', { headers: { 'x-internal-secret': 'wrong' } }, stack.authUrl), 401, 'UNAUTHENTICATED');
    expectError(
      await raw('/internal/api-keys/exchange', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"rk_x"}' }, stack.authUrl),
      401,
      'UNAUTHENTICATED',
    );
    // Control: with it, the feed answers.
    const ok = await raw('/internal/revocations', { headers: { 'x-internal-secret': stack.internalSecret } }, stack.authUrl);
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body as object).sort()).toEqual(['items', 'now']);
  });

  // ---- ops endpoints --------------------------------------------------------------------------

  it('serves /healthz, /readyz and /metrics', async () => {
    const health = await raw('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await raw('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', auth: true, event: true, tokens: true });
    const metrics = await raw('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^# TYPE http_requests_total counter$/m);
    expect(metrics.text).toMatch(/^http_requests_total\{[^}]*status="200"[^}]*\} \d+/m);
  });

  it('serves the JWKS with public ES256 keys only', async () => {
    const res = await raw('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = res.body as { keys: Array<Record<string, unknown>> };
    expect(keys.length).toBeGreaterThanOrEqual(1);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: expect.any(String) });
      expect(key).not.toHaveProperty('d');
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
    const { accessToken } = await login();
    const { kid } = decodeJwtPart<{ kid: string }>(accessToken, 0);
    expect(keys.map((k) => k.kid)).toContain(kid);
  });

  it('serves an OpenAPI 3 document listing every public route', async () => {
    const res = await raw('/docs-json');
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.paths['/api/v1/auth/login']?.post?.responses).toHaveProperty('200');
    expect(doc.paths['/api/v1/auth/login']?.post?.responses).toHaveProperty('429');
    for (const r of routeList) {
      expect(doc.paths[`/api/v1${r.path}`], r.path).toHaveProperty(r.method.toLowerCase());
    }
    expect(JSON.stringify(doc)).not.toContain('/internal');
  });

  it('serves /docs without any external URL, and its assets', async () => {
    const res = await raw('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).not.toMatch(/https?:\/\//i);
    expect(res.text).not.toMatch(/(src|href)=["']\/\//);
    const refs = [...res.text.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!);
    expect(refs).toContain('/docs/assets/swagger-ui-bundle.js');
    for (const ref of refs) {
      const asset = await raw(ref);
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
      if (ref.endsWith('.js')) expect(asset.headers.get('content-type')).toMatch(/javascript/);
    }
    const init = await raw('/docs/init.js');
    expect(init.text).toContain('/docs-json');
    expect(init.text).not.toMatch(/https?:\/\//i);
  });

  it('the logs hold no password or token', () => {
    const texts = logsText(stack.logs);
    expect(texts.gateway!.split('\n').filter((l) => l.includes('request completed')).length).toBeGreaterThan(20);
    const hits = Object.entries(texts).flatMap(([name, text]) => secrets.foundIn(text, `${name} log`));
    expect(hits).toEqual([]);
  });

  // ---- auth goes away (last: the stack does not recover) ---------------------------------------

  const sessions: Record<'replaced' | 'loggedOut' | 'current', string> = { replaced: '', loggedOut: '', current: '' };

  it('answers 503 UNAVAILABLE within 5 s of auth being killed', async () => {
    sessions.replaced = (await login()).accessToken;
    sessions.loggedOut = (await login()).accessToken; // replaces the first
    expect((await stack.client.call('logout', { token: sessions.loggedOut })).status).toBe(204);
    sessions.current = (await login()).accessToken;
    await sleep(1500); // the revocation feed is promised within 1 s; allow for a loaded machine

    const killedAt = Date.now();
    await stack.kill('auth', 'SIGKILL');
    const res = await stack.client.call('login', { body: user });
    const elapsed = Date.now() - killedAt;
    expectError(res, 503, 'UNAVAILABLE');
    expect(elapsed).toBeLessThan(5000);
    const started = Date.now();
    expectError(await stack.client.call('register', { body: { email: `late.${run}@example.com`, password: 'long enough' } }), 503, 'UNAVAILABLE');
    expectError(await stack.client.call('listUsers', { token: sessions.current }), 403, 'FORBIDDEN');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('with auth gone, the gateway still refuses sessions that ended before, and passes the current one', async () => {
    expectError(await stack.client.call('me', { token: sessions.replaced }), 401, 'UNAUTHENTICATED');
    expectError(await stack.client.call('me', { token: sessions.loggedOut }), 401, 'UNAUTHENTICATED');
    expectError(await stack.client.call('me', {}), 401, 'UNAUTHENTICATED');
    // The current session passes the gateway's checks and meets the dead upstream.
    expectError(await stack.client.call('me', { token: sessions.current }), 503, 'UNAVAILABLE');
  });

  it('/readyz reports 503 once the health probe notices', async () => {
    let ready: Raw | undefined;
    for (let i = 0; i < 30; i++) {
      ready = await raw('/readyz');
      if (ready.status === 503) break;
      await sleep(200);
    }
    const error = expectError(ready!, 503, 'UNAVAILABLE');
    expect(error.details).toEqual({ auth: false, event: true, tokens: true });
    expect((await raw('/healthz')).status).toBe(200);
  });
});
