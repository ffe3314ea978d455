import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { routeList } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminAccount, createAccount, createEvent, errorBody, type Account } from '../support/fixtures.js';
import {
  decodeJwtPart,
  expectError,
  type LogLine,
  logsText,
  parseLogs,
  Secrets,
  sleep,
  UUID,
} from '../support/expect-api.js';
import { freePort, startStack, waitFor, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A second gateway process, configured apart from the stack's, in front of the same auth and event. */
interface ExtraGateway {
  url: string;
  lines: string[];
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

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

  /** The `request completed` line a service logged for a request id (waits for the log pipe). */
  async function requestLog(lines: () => string[], reqId: string): Promise<LogLine> {
    let found: LogLine | undefined;
    await vi.waitFor(
      () => {
        found = parseLogs(lines()).find((l) => l.msg === 'request completed' && l.reqId === reqId);
        expect(found, `request completed with reqId ${reqId}`).toBeDefined();
      },
      { timeout: 5000, interval: 50 },
    );
    return found!;
  }

  /** Log lines of the extra gateways, for the secrets check. */
  const extraGatewayLogs: string[][] = [];

  function spawnGateway(env: Record<string, string>, ports: { gateway: number; metrics: number }): ExtraGateway {
    const lines: string[] = [];
    extraGatewayLogs.push(lines);
    const child: ChildProcess = spawn(process.execPath, ['apps/gateway/dist/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'debug',
        HOST: '127.0.0.1',
        INTERNAL_SECRET: stack.internalSecret,
        AUTH_SERVICE_URL: stack.authUrl,
        EVENT_SERVICE_URL: stack.eventUrls.join(','),
        GATEWAY_PORT: String(ports.gateway),
        METRICS_PORT: String(ports.metrics),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return {
      url: `http://127.0.0.1:${ports.gateway}`,
      lines,
      exited,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      },
    };
  }

  async function startGateway(env: Record<string, string>): Promise<ExtraGateway> {
    const [gateway, metrics] = await Promise.all([freePort(), freePort()]);
    const gw = spawnGateway(env, { gateway, metrics });
    let exitCode: number | null | undefined;
    void gw.exited.then((code) => (exitCode = code));
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new Error(`gateway exited (${exitCode}):\n${gw.lines.join('\n')}`);
        return (await fetch(`${gw.url}/readyz`)).status === 200;
      },
      30_000,
      'extra gateway ready',
    );
    return gw;
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
    secrets.add('internal secret', stack.internalSecret);
    user = {
      email: `gw.${run}@example.com`,
      password: secrets.add('password(user)', `pw-${randomBytes(8).toString('hex')}`),
    };
    expect((await stack.client.call('register', { body: user })).status).toBe(201);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  // ---- request ids ----------------------------------------------------------------------------

  it("never takes the client's X-Request-Id: the gateway makes its own and logs the client's beside it", async () => {
    const id = `e2e-${run}-ok.1:a`;
    const ok = await stack.client.call('login', { body: user, headers: { 'x-request-id': id } });
    expect(ok.status).toBe(200);
    secrets.add('access token', ok.body.accessToken);
    secrets.add('refresh token', ok.body.refreshToken);
    const okId = ok.headers.get('x-request-id')!;
    expect(okId).toMatch(UUID);
    // The gateway's line carries both; auth took over the gateway's id (it came with the service credential).
    expect(await requestLog(() => stack.logs.gateway!, okId)).toMatchObject({
      reqId: okId,
      clientRequestId: id,
      status: 200,
    });
    const authLine = await requestLog(() => stack.logs.auth!, okId);
    expect(authLine).toMatchObject({ reqId: okId, status: 200 });
    expect(authLine).not.toHaveProperty('clientRequestId');

    const upstreamError = await stack.client.call('login', {
      body: { ...user, password: 'wrong password' },
      headers: { 'x-request-id': `${id}-401` },
    });
    expectError(upstreamError, 401, 'INVALID_CREDENTIALS');
    expect(upstreamError.body.requestId).toMatch(UUID);
    expect(await requestLog(() => stack.logs.gateway!, upstreamError.body.requestId)).toMatchObject({
      clientRequestId: `${id}-401`,
      status: 401,
    });

    const gatewayError = await raw('/api/v1/no-such-route', { headers: { 'x-request-id': `${id}-404` } });
    expectError(gatewayError, 404, 'NOT_FOUND');
    const gatewayErrorId = (gatewayError.body as { requestId: string }).requestId;
    expect(gatewayErrorId).toMatch(UUID);
    expect(await requestLog(() => stack.logs.gateway!, gatewayErrorId)).toMatchObject({
      clientRequestId: `${id}-404`,
      status: 404,
    });

    const ops = await raw('/healthz', { headers: { 'x-request-id': `${id}-hz` } });
    expect(ops.status).toBe(200);
    expect(ops.headers.get('x-request-id')).toMatch(UUID);
    expect(ops.headers.get('x-request-id')).not.toBe(`${id}-hz`);
  });

  it('an audited action records the request id the gateway made, not the one the client sent', async () => {
    const admin = await adminAccount(stack);
    secrets.add('access token', admin.token);
    const created = await stack.client.call('createEvent', {
      token: admin.token,
      headers: { 'x-request-id': 'attacker-chosen' },
      body: {
        title: `rid ${run}`,
        startsAt: new Date(Date.now() - 86_400_000).toISOString(),
        endsAt: new Date(Date.now() + 86_400_000).toISOString(),
        condition: { type: 'LOGIN_DAYS', days: 1 },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const requestId = created.headers.get('x-request-id')!;
    expect(requestId).toMatch(UUID);
    let entries: Array<{ targetId: string | null; requestId: string | null; action: string }> = [];
    await vi.waitFor(
      async () => {
        const log = await stack.client.call('auditLog', {
          token: admin.token,
          query: { action: 'event.create', limit: 100 },
        });
        expect(log.status).toBe(200);
        entries = log.body.items.filter((e: { targetId: string | null }) => e.targetId === created.body.event.id);
        expect(entries).toHaveLength(1);
      },
      { timeout: 5000, interval: 100 },
    );
    expect(entries[0]).toMatchObject({ action: 'event.create', requestId });
    expect(await requestLog(() => stack.logs.gateway!, requestId)).toMatchObject({
      clientRequestId: 'attacker-chosen',
      status: 201,
    });
    expect(await requestLog(() => stack.logs['event-1']!, requestId)).toMatchObject({ reqId: requestId, status: 201 });

    // In an error body too: the requestId is the gateway's.
    const refused = await stack.client.call('createEvent', {
      token: admin.token,
      headers: { 'x-request-id': 'attacker-chosen' },
      body: {},
    });
    expectError(refused, 400, 'VALIDATION_FAILED');
    expect(refused.body.requestId).toMatch(UUID);
    const everything = await stack.client.call('auditLog', { token: admin.token, query: { limit: 100 } });
    expect(
      everything.body.items.filter((e: { requestId: string | null }) => e.requestId === 'attacker-chosen'),
    ).toEqual([]);
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
    const res = await raw('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
    const res2 = await raw('/api/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `big-${run}` },
      body: JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expectError(res2, 413, 'PAYLOAD_TOO_LARGE');
    const requestId = (res2.body as { requestId: string }).requestId;
    expect(requestId).toMatch(UUID);
    expect(await requestLog(() => stack.logs.gateway!, requestId)).toMatchObject({
      clientRequestId: `big-${run}`,
      status: 413,
    });
  });

  it('a body just under 1 MB reaches validation (400, not 413)', async () => {
    const body = JSON.stringify({ email: user.email, password: 'p'.repeat(1_000_000) });
    expect(body.length).toBeLessThan(1_048_576);
    const res = await raw('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const error = expectError(res, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ path: 'password' })]);
  });

  it('refuses malformed JSON with 400 in the error shape', async () => {
    for (const body of ['{"email": ', '{email: "a"}', '{"a":1}}', 'undefined']) {
      const res = await raw('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
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

  it('matches and forwards the raw path: /api/v1/ only as written; encoded parameters stay one segment', async () => {
    const admin = await adminAccount(stack);
    secrets.add('access token', admin.token);
    const auth = { authorization: `Bearer ${admin.token}` };
    // The router decodes `%61` and takes this for /api/v1/*; the proxy must not then forward another path.
    for (const path of [
      '/%61pi/v1/users',
      '/api%2Fv1/users',
      '/%61pi/v1/auth/me',
      '/api/v1/%75sers',
      '/api/v1%2Fusers',
    ]) {
      const res = await raw(path, { headers: auth });
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expectError(res, 404, 'NOT_FOUND');
    }
    const decoded = await raw('/%61pi/v1/users', { headers: auth });
    expect(decoded.body).toEqual(errorBody('NOT_FOUND', 'No route GET /%61pi/v1/users'));
    const literal = await raw('/api/v1/%75sers', { headers: auth });
    expect(literal.body).toEqual(errorBody('NOT_FOUND', 'No route GET /api/v1/%75sers'));
    const event = await createEvent(stack, admin.token, { type: 'LOGIN_DAYS', days: 1 });
    // A percent-encoded character inside a parameter: the same event.
    const encodedId = event.id.replace(/[0-9a-f]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
    expect(encodedId).not.toBe(event.id);
    const same = await raw(`/api/v1/events/${encodedId}`, { headers: auth });
    expect(same.status, same.text).toBe(200);
    expect((same.body as { event: { id: string } }).event.id).toBe(event.id);
    // An encoded slash stays inside the parameter, at the gateway and at the service: GET /events/{id}
    // with an invalid id, never GET or POST /events/{id}/claims.
    const slashed = await raw(`/api/v1/events/${event.id}%2Fclaims`, { headers: auth });
    const detail = expectError(slashed, 400, 'VALIDATION_FAILED');
    expect(detail.details).toEqual([expect.objectContaining({ path: 'id' })]);
    const post = await raw(`/api/v1/events/${event.id}%2Fclaims`, { method: 'POST', headers: auth });
    expect(post.body).toEqual(errorBody('NOT_FOUND', `No route POST /api/v1/events/${event.id}%2Fclaims`));
    const claims = await stack.client.call('listClaims', { token: admin.token, query: { eventId: event.id } });
    expect(claims.body.items).toEqual([]);
  });

  it('does not route internal endpoints, even with the service credential', async () => {
    const secret = { 'x-internal-secret': stack.internalSecret };
    const cases: Array<[string, string, Record<string, string>?, string?]> = [
      ['GET', '/internal/revocations'],
      ['GET', '/internal/revocations', secret],
      ['GET', '/api/v1/internal/revocations', secret],
      [
        'POST',
        '/api/v1/internal/api-keys/exchange',
        { ...secret, 'content-type': 'application/json' },
        '{"key":"rk_x"}',
      ],
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
      const req = httpRequest(
        `${stack.gatewayUrl}/api/v1/auth/../../internal/revocations`,
        { headers: secret },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(climbed.status).toBe(404);
    expect(JSON.parse(climbed.body).error.code).toBe('NOT_FOUND');
  });

  it("auth's internal endpoints require the service credential", async () => {
    expectError(await raw('/internal/revocations', {}, stack.authUrl), 401, 'UNAUTHENTICATED');
    expectError(
      await raw('/internal/revocations', { headers: { 'x-internal-secret': 'wrong' } }, stack.authUrl),
      401,
      'UNAUTHENTICATED',
    );
    expectError(
      await raw(
        '/internal/api-keys/exchange',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"rk_x"}' },
        stack.authUrl,
      ),
      401,
      'UNAUTHENTICATED',
    );
    // Control: with it, the feed answers.
    const ok = await raw(
      '/internal/revocations',
      { headers: { 'x-internal-secret': stack.internalSecret } },
      stack.authUrl,
    );
    expect(ok.status).toBe(200);
    expect(Object.keys(ok.body as object).sort()).toEqual(['items', 'next']);
    // A position is one auth handed out (or one of an earlier version, `<tx>.<seq>`).
    for (const after of ['not-a-position', 'a+b', 'x'.repeat(8193), Buffer.from('[1,2,3]').toString('base64url')]) {
      expectError(
        await raw(
          `/internal/revocations?after=${encodeURIComponent(after)}`,
          { headers: { 'x-internal-secret': stack.internalSecret } },
          stack.authUrl,
        ),
        400,
        'VALIDATION_FAILED',
      );
    }
    const legacy = await raw(
      '/internal/revocations?after=1.0',
      { headers: { 'x-internal-secret': stack.internalSecret } },
      stack.authUrl,
    );
    expect(legacy.status).toBe(200);
    // A long poll waits at most 30 s, given in whole seconds.
    for (const wait of ['31', '-1', '1.5', 'soon', '']) {
      expectError(
        await raw(
          `/internal/revocations?wait=${wait}`,
          { headers: { 'x-internal-secret': stack.internalSecret } },
          stack.authUrl,
        ),
        400,
        'VALIDATION_FAILED',
      );
    }
    const { next } = ok.body as { next: string };
    const asked = Date.now();
    const held = await raw(
      `/internal/revocations?after=${next}&wait=1`,
      { headers: { 'x-internal-secret': stack.internalSecret } },
      stack.authUrl,
    );
    expect(held.status).toBe(200);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(900);
    // Auth hears revocations commit; held reads are counted, but kept out of the latency histogram.
    const metrics = (await raw('/metrics', {}, stack.authUrl)).text;
    expect(metrics).toMatch(/^revocation_feed_listening\{service="auth"\} 1$/m);
    expect(metrics).toMatch(/^http_requests_total\{[^}]*route="\/internal\/revocations"[^}]*\} \d+$/m);
    expect(metrics).not.toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/internal\/revocations"/m);
    expect(metrics).toMatch(/^http_request_duration_seconds_count\{[^}]*route="\/readyz"/m);
  });

  // ---- ops endpoints --------------------------------------------------------------------------

  it('serves /healthz and /readyz', async () => {
    const health = await raw('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await raw('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', auth: true, event: true, tokens: true });
  });

  it("/readyz waits for an event instance that is alive but not ready yet (still loading auth's keys)", async () => {
    // An event instance between its start and its first key fetch: /healthz passes, /readyz is 503,
    // and so is every authenticated call it gets. The gateway must not call itself ready on it.
    let eventReady = false;
    const event = createServer((req, res) => {
      const ready = req.url === '/healthz' || (req.url === '/readyz' && eventReady);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
      const notReady = { code: 'UNAVAILABLE', message: 'Token keys or session state not loaded yet' };
      res.end(JSON.stringify(ready ? { status: 'ok' } : { error: notReady, requestId: 'r' }));
    });
    await new Promise<void>((r) => event.listen(0, '127.0.0.1', r));
    const [gateway, metrics] = await Promise.all([freePort(), freePort()]);
    const gw = spawnGateway(
      { EVENT_SERVICE_URL: `http://127.0.0.1:${(event.address() as AddressInfo).port}` },
      { gateway, metrics },
    );
    try {
      await waitFor(
        async () => (await fetch(`${gw.url}/healthz`).catch(() => null))?.status === 200,
        30_000,
        'listening',
      );
      // Its own token keys come from the real auth: once it has them, only the event instance is missing.
      let ready: Raw | undefined;
      await waitFor(
        async () => {
          ready = await raw('/readyz', {}, gw.url);
          const details = (ready.body as { error?: { details?: unknown } }).error?.details;
          return JSON.stringify(details) === '{"auth":true,"event":false,"tokens":true}';
        },
        10_000,
        'the gateway waiting on the event instance alone',
      );
      const error = expectError(ready!, 503, 'UNAVAILABLE');
      expect(error.details).toEqual({ auth: true, event: false, tokens: true });
      eventReady = true;
      const after = await raw('/readyz', {}, gw.url);
      expect(after.status).toBe(200);
      expect(after.body).toEqual({ status: 'ok', auth: true, event: true, tokens: true });
    } finally {
      await gw.stop();
      event.closeAllConnections();
      await new Promise((r) => event.close(r));
    }
  });

  it('serves /metrics on METRICS_PORT (loopback) only, never on the public port', async () => {
    for (const path of ['/metrics', '/metrics?x=1', '/metrics/']) {
      const pub = await raw(path);
      expect({ path, status: pub.status }).toEqual({ path, status: 404 });
      expectError(pub, 404, 'NOT_FOUND');
      expect(pub.text).not.toContain('http_requests_total');
    }
    const metricsUrl = new URL(stack.gatewayMetricsUrl);
    const metrics = await raw('/metrics', {}, metricsUrl.origin);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^# TYPE http_requests_total counter$/m);
    expect(metrics.text).toMatch(/^http_requests_total\{(?=[^}]*service="gateway")[^}]*status="200"[^}]*\} \d+/m);
    // The public port's refused /metrics requests are counted like any other unmatched route.
    expect(metrics.text).toMatch(/^http_requests_total\{[^}]*route="unmatched",status="404"[^}]*\} \d+/m);
    const other = await raw('/healthz', {}, metricsUrl.origin);
    expectError(other, 404, 'NOT_FOUND');
    // Bound to 127.0.0.1 by default.
    const listening = parseLogs(stack.logs.gateway!).find((l) => l.msg === 'metrics listening');
    expect(listening).toMatchObject({ host: '127.0.0.1', port: Number(metricsUrl.port) });
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
    const doc = res.body as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
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
    const all = [...res.text.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1]!);
    // The favicon is an inline data URI: no request, so no 404 in the browser's console.
    expect(all).toContain('data:,');
    const refs = all.filter((r) => !r.startsWith('data:'));
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

  // ---- client address and the services' trust ---------------------------------------------------

  async function newUser(label: string) {
    const u = {
      email: `${label}.${run}@example.com`,
      password: secrets.add(`password(${label})`, `pw-${randomBytes(8).toString('hex')}`),
    };
    expect((await stack.client.call('register', { body: u })).status).toBe(201);
    return u;
  }

  const signInRaw = (base: string, body: { email: string; password: string }, headers: Record<string, string>) =>
    raw(
      '/api/v1/auth/login',
      { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) },
      base,
    );
  const wrongLogin = (base: string, email: string, headers: Record<string, string>) =>
    signInRaw(base, { email, password: 'wrong password' }, headers);
  const keepTokens = (res: Raw) => {
    const body = res.body as { accessToken?: string; refreshToken?: string };
    secrets.add('access token', body.accessToken);
    secrets.add('refresh token', body.refreshToken);
  };

  it('auth, reached directly, ignores a spoofed X-Forwarded-For and X-Request-Id: rotating them does not escape the login limit', async () => {
    const target = await newUser('direct');
    for (let i = 0; i < 10; i++) {
      const res = await wrongLogin(stack.authUrl, target.email, {
        'x-forwarded-for': `203.0.113.${i}`,
        'x-request-id': `spoofed-${run}-${i}`,
      });
      expectError(res, 401, 'INVALID_CREDENTIALS');
      expect(res.headers.get('x-request-id')).toMatch(UUID);
    }
    // A wrong service credential is no credential.
    const eleventh = await wrongLogin(stack.authUrl, target.email, {
      'x-forwarded-for': '203.0.113.99',
      'x-request-id': `spoofed-${run}-11`,
      'x-internal-secret': 'x'.repeat(64),
    });
    expectError(eleventh, 429, 'TOO_MANY_ATTEMPTS');
    const id = eleventh.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    expect(await requestLog(() => stack.logs.auth!, id)).toMatchObject({
      ip: '127.0.0.1',
      clientRequestId: `spoofed-${run}-11`,
      status: 429,
    });

    // Control: with the gateway's credential both are taken, and the right password from a new address passes.
    const gatewayId = `gw-${run}.direct`;
    const viaGateway = await signInRaw(stack.authUrl, target, {
      'x-internal-secret': stack.internalSecret,
      'x-forwarded-for': '198.51.100.7',
      'x-request-id': gatewayId,
    });
    keepTokens(viaGateway);
    expect(viaGateway.status, viaGateway.text).toBe(200);
    expect(viaGateway.headers.get('x-request-id')).toBe(gatewayId);
    expect(await requestLog(() => stack.logs.auth!, gatewayId)).toMatchObject({ ip: '198.51.100.7', status: 200 });
  });

  it('event, reached directly, ignores a spoofed X-Forwarded-For and X-Request-Id', async () => {
    for (const secret of [undefined, 'x'.repeat(64)]) {
      const headers: Record<string, string> = {
        'x-forwarded-for': '203.0.113.5',
        'x-request-id': `spoofed-${run}-event`,
      };
      if (secret) headers['x-internal-secret'] = secret;
      const res = await raw('/api/v1/events', { headers }, stack.eventUrls[0]);
      expectError(res, 401, 'UNAUTHENTICATED');
      const id = (res.body as { requestId: string }).requestId;
      expect(id).toMatch(UUID);
      expect(await requestLog(() => stack.logs['event-1']!, id)).toMatchObject({
        ip: '127.0.0.1',
        clientRequestId: `spoofed-${run}-event`,
        status: 401,
      });
    }
  });

  it('TRUST_PROXY unset: X-Forwarded-For is ignored at the gateway, every attempt is charged to the peer', async () => {
    const target = await newUser('noproxy');
    for (let i = 0; i < 10; i++)
      expectError(
        await wrongLogin(stack.gatewayUrl, target.email, { 'x-forwarded-for': `203.0.113.${i}` }),
        401,
        'INVALID_CREDENTIALS',
      );
    const res = await wrongLogin(stack.gatewayUrl, target.email, { 'x-forwarded-for': '198.51.100.1' });
    expectError(res, 429, 'TOO_MANY_ATTEMPTS');
    const id = res.headers.get('x-request-id')!;
    expect(await requestLog(() => stack.logs.gateway!, id)).toMatchObject({ ip: '127.0.0.1', status: 429 });
    expect(await requestLog(() => stack.logs.auth!, id)).toMatchObject({ ip: '127.0.0.1', status: 429 });
  });

  describe.each(['1', '127.0.0.1'])('behind a proxy (TRUST_PROXY=%s)', (trust) => {
    let gw: ExtraGateway | undefined;
    beforeAll(async () => {
      gw = await startGateway({ TRUST_PROXY: trust });
    });
    afterAll(async () => {
      await gw?.stop();
    });

    it('the client is the right-most untrusted X-Forwarded-For entry: rotating the left-most does not escape the limit', async () => {
      const target = await newUser(`proxy-${trust.replace(/\W/g, '')}`);
      for (let i = 0; i < 10; i++) {
        expectError(
          await wrongLogin(gw!.url, target.email, { 'x-forwarded-for': `10.0.${i}.1, 5.6.7.8` }),
          401,
          'INVALID_CREDENTIALS',
        );
      }
      const blocked = await wrongLogin(gw!.url, target.email, { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' });
      expectError(blocked, 429, 'TOO_MANY_ATTEMPTS');
      const id = blocked.headers.get('x-request-id')!;
      expect(await requestLog(() => gw!.lines, id)).toMatchObject({ ip: '5.6.7.8', status: 429 });
      expect(await requestLog(() => stack.logs.auth!, id)).toMatchObject({ ip: '5.6.7.8', status: 429 });
      // Even the right password, from that address; from another right-most address (same peer, same left-most) it passes.
      expectError(
        await signInRaw(gw!.url, target, { 'x-forwarded-for': '1.2.3.4, 5.6.7.8' }),
        429,
        'TOO_MANY_ATTEMPTS',
      );
      const elsewhere = await signInRaw(gw!.url, target, { 'x-forwarded-for': '1.2.3.4, 5.6.7.9' });
      keepTokens(elsewhere);
      expect(elsewhere.status, elsewhere.text).toBe(200);
      // Without the header, the peer.
      const plain = await raw('/healthz', {}, gw!.url);
      expect(plain.status).toBe(200);
    });
  });

  it('refuses TRUST_PROXY=true and malformed values at boot, naming the problem', async () => {
    const cases: Array<[string, string]> = [
      ['true', 'TRUST_PROXY: `true` would trust every hop, so any client could choose its own address'],
      ['10.0.0.0/33', 'TRUST_PROXY: "10.0.0.0/33" is neither a hop count nor an IP address or CIDR'],
      ['-1', 'TRUST_PROXY: "-1" is neither a hop count nor an IP address or CIDR'],
    ];
    for (const [value, message] of cases) {
      const [gateway, metrics] = await Promise.all([freePort(), freePort()]);
      const gw = spawnGateway({ TRUST_PROXY: value }, { gateway, metrics });
      expect({ value, code: await gw.exited }).toEqual({ value, code: 1 });
      expect(gw.lines.join('\n')).toContain('[gateway] invalid configuration:');
      expect(gw.lines.join('\n')).toContain(message);
    }
  });

  // ---- claim rate limit -------------------------------------------------------------------------

  it('the 61st claim request by one user for one event within a minute is 429 with Retry-After, and is not forwarded', async () => {
    const admin = await adminAccount(stack);
    secrets.add('access token', admin.token);
    const [limited, other] = await Promise.all([
      createAccount(stack, admin.token, { label: 'limited' }),
      createAccount(stack, admin.token, { label: 'other' }),
    ]);
    for (const a of [limited, other] as Account[]) {
      secrets.add('password(player)', a.password);
      secrets.add('access token', a.token);
    }
    // Never met: every attempt is recorded (201, REJECTED) and none stops the next one.
    const never = { type: 'INVITE_COUNT', count: 5 } as const;
    const [event, otherEvent] = await Promise.all([
      createEvent(stack, admin.token, never),
      createEvent(stack, admin.token, never),
    ]);
    const claim = (who: Account, id: string) => stack.client.call('createClaim', { token: who.token, params: { id } });
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await claim(limited, event.id)).status);
    expect(statuses).toEqual(Array(60).fill(201));

    const refused = await claim(limited, event.id);
    expectError(refused, 429, 'TOO_MANY_REQUESTS');
    const retryAfter = refused.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // The same event spelt otherwise (upper case, a percent-encoded character) is the same limit.
    const auth = { authorization: `Bearer ${limited.token}` };
    const encodedId = event.id.replace(/[0-9a-f]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
    for (const id of [event.id.toUpperCase(), encodedId]) {
      const res = await raw(`/api/v1/events/${id}/claims`, { method: 'POST', headers: auth });
      expectError(res, 429, 'TOO_MANY_REQUESTS');
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    // Another event for the same user, and another user for the same event, are unaffected.
    expect((await claim(limited, otherEvent.id)).status).toBe(201);
    expect((await claim(other, event.id)).status).toBe(201);

    // 63 attempts for the event, exactly 60 claims stored: the refused ones never reached the service.
    const stored = await stack.client.call('listClaims', {
      token: admin.token,
      query: { eventId: event.id, userId: limited.id, limit: 100 },
    });
    expect(stored.status).toBe(200);
    expect(stored.body.nextCursor).toBeNull();
    expect(stored.body.items).toHaveLength(60);
    expect(new Set(stored.body.items.map((c) => `${c.status}:${c.reason}`))).toEqual(
      new Set(['REJECTED:CONDITION_NOT_MET']),
    );
    expect(await requestLog(() => stack.logs.gateway!, refused.body.requestId)).toMatchObject({
      status: 429,
      url: '/api/v1/*',
    });
    expect(parseLogs(stack.logs['event-1']!).filter((l) => l.reqId === refused.body.requestId)).toEqual([]);
  });

  it('the logs hold no password or token', () => {
    const texts = logsText({
      ...stack.logs,
      ...Object.fromEntries(extraGatewayLogs.map((lines, i) => [`extra-gateway-${i + 1}`, lines])),
    });
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
    expectError(
      await stack.client.call('register', { body: { email: `late.${run}@example.com`, password: 'long enough' } }),
      503,
      'UNAVAILABLE',
    );
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
