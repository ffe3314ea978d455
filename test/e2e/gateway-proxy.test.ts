import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminAccount, createEvent, errorBody } from '../support/fixtures.js';
import { expectError, type LogLine, parseLogs, UUID } from '../support/expect-api.js';
import { freePort, startStack, waitFor, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

async function raw(url: string, init: RequestInit = {}): Promise<Raw> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A request over node:http, its body written in `chunks` (chunked when no content-length is given). */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; chunks?: Buffer[] },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before it has read everything: the answer is what counts.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err);
    });
    for (const c of opts.chunks ?? []) req.write(c);
    req.end();
  });
}

/**
 * The gateway process alone, in front of a raw node:http server that stands in for auth and
 * event and answers as each test tells it (by `?scenario=`): well, with odd headers, in pieces,
 * or by dying half-way. Only public routes are used, so no token is needed.
 */
describe('gateway proxy: streaming and bodies, against a raw upstream', () => {
  let upstream: Server;
  let upstreamUrl: string;
  let gateway: ChildProcess;
  let gatewayUrl: string;
  const lines: string[] = [];
  /** What reached the upstream on /api/ paths, in order. */
  const received: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
  const scenarios = new Map<string, (req: IncomingMessage, res: ServerResponse, body: Buffer) => void>();
  /** Resolved when the upstream's response for a scenario closes (finished or cut). */
  const closed = new Map<string, { at?: number; finished?: boolean; wait: Promise<void>; done: () => void }>();

  const trackClose = (name: string) => {
    let done!: () => void;
    const wait = new Promise<void>((r) => (done = r));
    const entry = { wait, done } as { at?: number; finished?: boolean; wait: Promise<void>; done: () => void };
    closed.set(name, entry);
    return entry;
  };

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      if (!url.pathname.startsWith('/api/')) {
        // Health probes pass; the token verifier's key and revocation polls find nothing (public routes only).
        res.writeHead(url.pathname === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
        res.end(url.pathname === '/healthz' ? '{"status":"ok"}' : '{}');
        return;
      }
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const name = url.searchParams.get('scenario') ?? 'echo';
        const entry = closed.get(name);
        if (entry) {
          res.on('close', () => {
            entry.at = Date.now();
            entry.finished = res.writableFinished;
            entry.done();
          });
        }
        const scenario = scenarios.get(name);
        if (!scenario) return void res.writeHead(500).end(`no scenario ${name}`);
        scenario(req, res, body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    const [port, metrics] = await Promise.all([freePort(), freePort()]);
    gatewayUrl = `http://127.0.0.1:${port}`;
    gateway = spawn(process.execPath, ['apps/gateway/dist/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        INTERNAL_SECRET: 's'.repeat(32),
        AUTH_SERVICE_URL: upstreamUrl,
        EVENT_SERVICE_URL: upstreamUrl,
        GATEWAY_PORT: String(port),
        METRICS_PORT: String(metrics),
        UPSTREAM_TIMEOUT_MS: '3000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean));
    gateway.stdout!.on('data', collect);
    gateway.stderr!.on('data', collect);
    await waitFor(async () => (await fetch(`${gatewayUrl}/healthz`)).status === 200, 30_000, 'gateway listening');
  });

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await exited;
    }
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  const login = (scenario: string) => `${gatewayUrl}/api/v1/auth/login?scenario=${scenario}`;

  /** The gateway's `request completed` lines for a request id (waits for the log pipe). */
  async function completedLines(reqId: string, count = 1): Promise<LogLine[]> {
    let found: LogLine[] = [];
    await vi.waitFor(
      () => {
        found = parseLogs(lines).filter((l) => l.msg === 'request completed' && l.reqId === reqId);
        expect(found.length, `request completed lines for ${reqId}`).toBeGreaterThanOrEqual(count);
      },
      { timeout: 5000, interval: 50 },
    );
    return found;
  }

  const lineFor = (reqId: string, msg: string) => parseLogs(lines).find((l) => l.reqId === reqId && l.msg === msg);

  it('forwards the body bytes as the client sent them, with its content type', async () => {
    scenarios.set('echo', (req, res, body) => {
      const answer = JSON.stringify({
        body: body.toString('base64'),
        contentType: req.headers['content-type'] ?? null,
        contentLength: req.headers['content-length'] ?? null,
        fromGateway: req.headers['x-internal-secret'] === 's'.repeat(32),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
    // Spacing, key order, escapes and a duplicate key survive: nothing is parsed and written again.
    const bodies: Array<[string, string]> = [
      [
        'application/json',
        '{ "password" : "p\\u00e9\\n",\n  "email":"a@example.com", "email": "b@example.com", "n": 1e2 }',
      ],
      ['application/json; charset=utf-8', '{"name":"Ünïcödé ✓"}'],
      // Malformed: the service parses and answers it (400), the gateway only passes it on.
      ['application/json', '{"email": '],
      ['text/plain', 'just text'],
      ['application/x-www-form-urlencoded', 'email=a%40example.com&password=p%C3%A9'],
    ];
    for (const [contentType, text] of bodies) {
      const res = await raw(login('echo'), { method: 'POST', headers: { 'content-type': contentType }, body: text });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({
        body: Buffer.from(text).toString('base64'),
        contentType,
        contentLength: String(Buffer.byteLength(text)),
        fromGateway: true,
      });
    }
  });

  it('refuses an oversize body with 413 and an unsupported media type with 415, forwarding nothing', async () => {
    const before = received.length;
    const declared = await raw(login('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"pad":"${'x'.repeat(1_048_576)}"}`,
    });
    expectError(declared, 413, 'PAYLOAD_TOO_LARGE');
    expect(declared.body).toEqual(errorBody('PAYLOAD_TOO_LARGE', 'Request body is too large'));
    // No content-length: counted while it streams in.
    const chunked = await send(login('echo'), {
      headers: { 'content-type': 'application/json' },
      chunks: [
        Buffer.from('{"pad":"'),
        ...Array.from({ length: 12 }, () => Buffer.alloc(100_000, 'x')),
        Buffer.from('"}'),
      ],
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body.toString())).toEqual(errorBody('PAYLOAD_TOO_LARGE', 'Request body is too large'));

    const xml = await raw(login('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<a/>',
    });
    expectError(xml, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(xml.body).toEqual(errorBody('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type'));
    const untyped = await send(login('echo'), { headers: { 'content-length': '2' }, chunks: [Buffer.from('{}')] });
    expect(untyped.status).toBe(415);
    expect(JSON.parse(untyped.body.toString())).toEqual(errorBody('UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type'));
    expect(received.length).toBe(before);
    // Just under the limit passes through whole.
    const text = `{"pad":"${'y'.repeat(1_048_576 - 11)}"}`;
    expect(Buffer.byteLength(text)).toBe(1_048_576 - 1);
    const under = await raw(login('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    expect(under.status).toBe(200);
    expect(sha256(Buffer.from((under.body as { body: string }).body, 'base64'))).toBe(sha256(text));
  });

  it("passes the upstream's status, content-type, retry-after, cache-control and content-length, and nothing else", async () => {
    const payload = JSON.stringify({ error: { code: 'TOO_MANY_ATTEMPTS', message: 'wait' }, requestId: 'r' });
    scenarios.set('headers', (_req, res) => {
      res.writeHead(429, {
        'content-type': 'application/json; charset=utf-8',
        'retry-after': '7',
        'cache-control': 'no-store',
        'content-length': String(Buffer.byteLength(payload)),
        'x-upstream-internal': 'must not leak',
        'set-cookie': 'a=b',
      });
      res.end(payload);
    });
    const res = await raw(login('headers'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(429);
    expect(res.text).toBe(payload);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(payload)));
    expect(res.headers.get('x-upstream-internal')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(UUID);

    scenarios.set('empty', (_req, res) => void res.writeHead(204, { 'cache-control': 'no-store' }).end());
    const empty = await raw(login('empty'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect({ status: empty.status, text: empty.text }).toEqual({ status: 204, text: '' });
    expect(empty.headers.get('cache-control')).toBe('no-store');
  });

  it('relays large bodies intact, with a length (5 MB) and chunked without one (3 MB in 48 pieces)', async () => {
    const big = randomBytes(5 * 1024 * 1024);
    scenarios.set('big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(big.length) });
      res.end(big);
    });
    const a = await send(login('big'), {
      headers: { 'content-type': 'application/json' },
      chunks: [Buffer.from('{}')],
    });
    expect(a.status).toBe(200);
    expect(a.headers['content-length']).toBe(String(big.length));
    expect(a.body.length).toBe(big.length);
    expect(sha256(a.body)).toBe(sha256(big));

    const pieces = Array.from({ length: 48 }, () => randomBytes(64 * 1024));
    scenarios.set('chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let i = 0;
      const next = () => {
        if (i === pieces.length) return void res.end();
        res.write(pieces[i++]);
        setImmediate(next);
      };
      next();
    });
    const b = await send(login('chunked'), {
      headers: { 'content-type': 'application/json' },
      chunks: [Buffer.from('{}')],
    });
    expect(b.status).toBe(200);
    expect(b.headers['content-length']).toBeUndefined();
    expect(b.headers['transfer-encoding']).toBe('chunked');
    expect(sha256(b.body)).toBe(sha256(Buffer.concat(pieces)));
  });

  it('streams: the client has the first part of the body while the upstream still holds back the rest', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    scenarios.set('held', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('first');
      void held.then(() => res.end('-rest'));
    });
    const res = await fetch(login('held'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('first');
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    expect(rest).toBe('-rest');
  });

  it('an upstream that dies before the first byte of its body is 503 UNAVAILABLE, without its headers', async () => {
    scenarios.set('headers-only', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100', 'cache-control': 'private' });
      res.flushHeaders();
      setTimeout(() => res.socket!.destroy(), 100);
    });
    scenarios.set('no-answer', (_req, res) => void res.socket!.destroy());
    for (const scenario of ['headers-only', 'no-answer']) {
      const res = await raw(login(scenario), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expectError(res, 503, 'UNAVAILABLE');
      expect(res.body).toEqual(errorBody('UNAVAILABLE', 'The auth service is unavailable; retry shortly'));
      expect(res.headers.get('cache-control')).toBeNull();
      const reqId = res.headers.get('x-request-id')!;
      const [line, ...more] = await completedLines(reqId);
      expect(line).toMatchObject({ status: 503, url: '/api/v1/*' });
      expect(more).toEqual([]);
    }
  });

  it('an upstream that dies mid-body cuts the client connection; the request log has the status that went out', async () => {
    scenarios.set('cut', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
      res.write(Buffer.alloc(1000, 'a'));
      setTimeout(() => res.socket!.destroy(), 100);
    });
    const res = await fetch(login('cut'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('100000');
    await expect(res.text()).rejects.toThrow();
    const reqId = res.headers.get('x-request-id')!;
    const [line, ...more] = await completedLines(reqId);
    expect(line).toMatchObject({ status: 200, url: '/api/v1/*', level: 30 });
    expect(more).toEqual([]);
    expect(lineFor(reqId, 'upstream failed mid-response; the client connection was cut')).toMatchObject({
      level: 40,
      upstream: upstreamUrl,
      err: { code: 'UND_ERR_SOCKET' },
    });
    // The gateway goes on serving.
    const next = await raw(login('echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(next.status).toBe(200);
  });

  it('a client that leaves mid-body ends the upstream request; the request log has the status', async () => {
    const upstreamClosed = trackClose('endless');
    scenarios.set('endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part one');
      // Never ends by itself: only the gateway giving up on it closes it.
    });
    const { reqId, leftAt } = await new Promise<{ reqId: string; leftAt: number }>((resolve, reject) => {
      const req = httpRequest(
        login('endless'),
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.once('data', () => {
            const leftAt = Date.now();
            req.destroy();
            resolve({ reqId: String(res.headers['x-request-id']), leftAt });
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET') reject(err);
      });
      req.end('{}');
    });
    await Promise.race([
      upstreamClosed.wait,
      new Promise((_, reject) => setTimeout(() => reject(new Error('upstream response still open after 3 s')), 3000)),
    ]);
    expect(upstreamClosed.finished).toBe(false);
    expect(upstreamClosed.at! - leftAt).toBeLessThan(3000);
    const [line, ...more] = await completedLines(reqId);
    expect(line).toMatchObject({ status: 200, url: '/api/v1/*' });
    expect(more).toEqual([]);
    expect(lineFor(reqId, 'the client left before the response was complete')).toMatchObject({ upstream: upstreamUrl });
    expect(lineFor(reqId, 'upstream failed')).toBeUndefined();
  });

  it('a client that leaves before the first byte of the body ends the upstream request too', async () => {
    const upstreamClosed = trackClose('silent');
    let answered!: () => void;
    const headersOut = new Promise<void>((r) => (answered = r));
    scenarios.set('silent', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.flushHeaders();
      answered();
    });
    const req = httpRequest(login('silent'), { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end('{}');
    await headersOut;
    await new Promise((r) => setTimeout(r, 200)); // the headers reach the gateway, which has nothing to send yet
    req.destroy();
    await Promise.race([
      upstreamClosed.wait,
      new Promise((_, reject) => setTimeout(() => reject(new Error('upstream response still open after 3 s')), 3000)),
    ]);
    expect(upstreamClosed.finished).toBe(false);
    const id = await vi.waitFor(
      () => {
        const left = parseLogs(lines).filter(
          (l) => l.msg === 'the client left before the response was complete' && l.upstream === upstreamUrl,
        );
        expect(left.length).toBe(2); // this request and the one before
        return left[1]!.reqId as string;
      },
      { timeout: 5000, interval: 50 },
    );
    const [line, ...more] = await completedLines(id);
    expect(line).toMatchObject({ url: '/api/v1/*', level: 30 });
    expect(more).toEqual([]);
    // The aborted upstream body is the gateway's own doing, not an upstream failure.
    expect(lineFor(id, 'upstream failed')).toBeUndefined();
  });

  it('a client that leaves while the upstream has not answered yet still gets its request logged once', async () => {
    scenarios.set('slow', (_req, res) => {
      setTimeout(() => res.writeHead(201, { 'content-type': 'application/json' }).end('{"late":true}'), 300);
    });
    const req = httpRequest(login('slow'), { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => undefined);
    req.end('{}');
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    const id = await vi.waitFor(
      () => {
        const left = parseLogs(lines).filter((l) => l.msg === 'the client left before the response was complete');
        expect(left.length).toBe(3);
        return left[2]!.reqId as string;
      },
      { timeout: 5000, interval: 50 },
    );
    const [line, ...more] = await completedLines(id);
    expect(line).toMatchObject({ url: '/api/v1/*', status: 201 });
    expect(more).toEqual([]);
    expect(lineFor(id, 'upstream failed')).toBeUndefined();
  });

  it('a request the HTTP parser refuses, with 800 KB still coming, gets its 400 in the error shape, never a reset', async () => {
    // A control character in a header value: Node's parser refuses the request before any route runs.
    // The body behind it is still on its way; closing at once would reset the connection and lose the answer.
    const head = (n: number) =>
      `POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
      `x-bad-${n}: a\u0001b\r\ncontent-length: 800000\r\nconnection: close\r\n\r\n`;
    const once = (n: number) =>
      new Promise<{ error?: string; text: string }>((resolve) => {
        const parts: Buffer[] = [];
        let error: string | undefined;
        const socket = connect(Number(new URL(gatewayUrl).port), '127.0.0.1', () => {
          socket.write(head(n), 'latin1');
          socket.end(Buffer.alloc(800_000, 'a'));
        });
        socket.on('data', (c: Buffer) => parts.push(c));
        socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code));
        socket.on('close', () => resolve({ error, text: Buffer.concat(parts).toString('latin1') }));
      });
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, n) => once(n)));
    for (const { error, text } of outcomes) {
      expect(error).toBeUndefined();
      expect(text.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      expect(body).toEqual(errorBody('VALIDATION_FAILED', expect.any(String)));
    }
  });

  it('logs no unhandled error and keeps running', async () => {
    expect((await fetch(`${gatewayUrl}/healthz`)).status).toBe(200);
    expect(gateway.exitCode).toBeNull();
    // The 503s above are logged as errors by their `request completed` line; nothing else may be.
    const logs = parseLogs(lines);
    expect(
      logs.filter(
        (l) => (l.level >= 50 && l.msg !== 'request completed') || /unhandled|already sent/i.test(String(l.msg)),
      ),
    ).toEqual([]);
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]);
  });
});

/** The same edge in front of the real services: what they answer passes through unchanged. */
describe('gateway proxy: in front of auth and event', () => {
  let stack: Stack;
  let token: string;

  beforeAll(async () => {
    stack = await startStack();
    token = (await adminAccount(stack)).token;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const json = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const authed = (init: RequestInit): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  });

  it('a list page of about 200 KB arrives byte for byte as the event service sends it', async () => {
    const description = 'd'.repeat(5000);
    await Promise.all(
      Array.from({ length: 40 }, () => createEvent(stack, token, { type: 'LOGIN_DAYS', days: 1 }, { description })),
    );
    const path = '/api/v1/events?limit=100';
    const via = await raw(`${stack.gatewayUrl}${path}`, authed({}));
    const direct = await raw(`${stack.eventUrls[0]}${path}`, authed({}));
    expect(via.status).toBe(200);
    expect(direct.status).toBe(200);
    expect((via.body as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(40);
    expect(Buffer.byteLength(via.text)).toBeGreaterThan(200_000);
    expect(via.text).toBe(direct.text);
    expect(via.headers.get('content-length')).toBe(String(Buffer.byteLength(via.text)));
    expect(via.headers.get('content-type')).toBe(direct.headers.get('content-type'));
  });

  // The answers the gateway gave when it parsed bodies itself: the services give the same now.
  const NOT_JSON = "Body is not valid JSON but content-type is set to 'application/json'";
  const EMPTY = "Body cannot be empty when content-type is set to 'application/json'";

  it('malformed JSON is answered 400 VALIDATION_FAILED by auth and by event, as the gateway did', async () => {
    const cases: Array<[string, string]> = [
      ['{"email": ', NOT_JSON],
      ['{email: "a"}', NOT_JSON],
      ['{"a":1}}', NOT_JSON],
      ['undefined', NOT_JSON],
      ['['.repeat(10_000), NOT_JSON],
      ['{"__proto__":{"admin":true},"email":"a"}', NOT_JSON],
      ['', EMPTY],
    ];
    for (const [body, message] of cases) {
      for (const [path, init] of [
        ['/api/v1/auth/login', json(body)],
        ['/api/v1/events', authed(json(body))],
        ['/api/v1/activities', authed(json(body))],
      ] as const) {
        const res = await raw(`${stack.gatewayUrl}${path}`, init);
        expectError(res, 400, 'VALIDATION_FAILED');
        expect({ path, body: body.slice(0, 20), answer: res.body }).toEqual({
          path,
          body: body.slice(0, 20),
          answer: errorBody('VALIDATION_FAILED', message),
        });
      }
    }
  });

  it("a body nested too deeply is 400 VALIDATION_FAILED 'too_deep', never a 500", async () => {
    const tooDeep = errorBody('VALIDATION_FAILED', 'Request is invalid', [
      { path: '', code: 'too_deep', message: 'The input nests too deeply' },
    ]);
    const deepCondition = (depth: number) =>
      `${'{"type":"ALL","of":['.repeat(depth)}{"type":"LOGIN_DAYS","days":1}${']}'.repeat(depth)}`;
    const cases: Array<[string, string]> = [
      ['/api/v1/auth/login', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
      ['/api/v1/auth/register', `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`],
      ['/api/v1/events', `{"title":"t","condition":${deepCondition(10_000)}}`],
      ['/api/v1/activities', `{"activities":${'['.repeat(200_000)}${']'.repeat(200_000)}}`],
    ];
    for (const [path, body] of cases) {
      const res = await raw(`${stack.gatewayUrl}${path}`, authed(json(body)));
      expectError(res, 400, 'VALIDATION_FAILED');
      expect({ path, answer: res.body }).toEqual({ path, answer: tooDeep });
    }
  });

  it('a form-encoded body reaches the service as sent and is read there, as when the gateway turned it into JSON', async () => {
    const form = new URLSearchParams({ email: stack.admin.email, password: stack.admin.password }).toString();
    const res = await raw(`${stack.gatewayUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
  });

  it('a text/plain body reaches validation (400 with the failing part), and the services stay up', async () => {
    const res = await raw(`${stack.gatewayUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'email=a&password=b',
    });
    const error = expectError(res, 400, 'VALIDATION_FAILED');
    expect(error.details).toEqual([expect.objectContaining({ path: '' })]);
    expect(stack.alive()).toEqual({ auth: true, gateway: true, 'event-1': true });
    const logs = Object.values(stack.logs).flatMap(parseLogs);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});
