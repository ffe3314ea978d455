import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/domain/webhook-retry.js';
import { assertAllowedDestination, isPublicAddress } from '../../src/webhooks/destination.policy.js';
import { WebhookSender } from '../../src/webhooks/webhook.sender.js';
import { newSecret, signatureHeader } from '../../src/webhooks/webhook.signature.js';

describe('webhook destinations', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    'not-an-ip',
  ])('refuses %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['1.1.1.1', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'admits %s',
    (ip) => {
      expect(isPublicAddress(ip)).toBe(true);
    },
  );

  const refusal = async (url: string, allowPrivate = false) => {
    const err = await assertAllowedDestination(url, allowPrivate).then(
      () => undefined,
      (e: unknown) => e,
    );
    return err as { code?: string; details?: { path: string }[] } | undefined;
  };

  it('refuses loopback, private and link-local URLs, by address or by a name resolving to one', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://[::1]/hook',
      'https://10.0.0.5/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://localhost:3000/hook',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      const err = await refusal(url);
      expect(err?.code, url).toBe('VALIDATION_FAILED');
      expect(err?.details?.map((d) => d.path)).toEqual(['url']);
    }
  });

  it('admits public addresses, and anything when private networks are allowed', async () => {
    expect(await refusal('https://8.8.8.8/hook')).toBeUndefined();
    expect(await refusal('http://127.0.0.1:8080/hook', true)).toBeUndefined();
    expect(await refusal('http://localhost/hook', true)).toBeUndefined();
  });

  it('refuses other schemes', async () => {
    expect((await refusal('ftp://8.8.8.8/x'))?.code).toBe('VALIDATION_FAILED');
  });
});

describe('webhook signatures', () => {
  it('makes whsec_ secrets of 32 random bytes', () => {
    const secret = newSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newSecret()).not.toBe(secret);
  });

  it('signs as Standard Webhooks 1.0: the official verifier accepts each of the secrets, and nothing else', () => {
    const [a, b] = [newSecret(), newSecret()];
    const id = 'c6c1d1b4-6d2f-4f36-9d59-0d7c8f3b5a01';
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: {} });
    const headers = (signature: string) => ({
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signature,
    });
    const both = signatureHeader([a, b], id, timestamp, body);
    expect(both.split(' ')).toHaveLength(2);
    expect(new Webhook(a).verify(body, headers(both))).toEqual(JSON.parse(body));
    expect(new Webhook(b).verify(body, headers(both))).toEqual(JSON.parse(body));
    const one = signatureHeader([a], id, timestamp, body);
    expect(() => new Webhook(b).verify(body, headers(one))).toThrow();
    expect(() => new Webhook(a).verify(`${body} `, headers(one))).toThrow();
  });
});

describe('webhook retry schedule', () => {
  const schedule = [5, 30, 120];

  it('waits the n-th entry after the n-th failed attempt, with up to 10 % jitter, then gives up', () => {
    expect(retryDelayMs(schedule, 1, () => 0)).toBe(5000);
    expect(retryDelayMs(schedule, 2, () => 0.5)).toBe(31_500);
    expect(retryDelayMs(schedule, 3, () => 0.999)).toBeLessThanOrEqual(132_000);
    expect(retryDelayMs(schedule, 4)).toBeNull();
    expect(retryDelayMs(schedule, 12)).toBeNull();
  });
});

describe(WebhookSender.name, () => {
  let server: Server;
  let base: string;
  let answer: (req: IncomingMessage, res: import('node:http').ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const open = new WebhookSender(true);
  afterAll(() => open.close());

  it('delivers on a 2xx and keeps an excerpt of anything else', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    expect(await open.send(`${base}/ok`, {}, '{}')).toEqual({ status: 204, error: null });
    answer = (_req, res) => res.writeHead(500).end('x'.repeat(5000));
    const failed = await open.send(`${base}/fail`, {}, '{}');
    expect(failed.status).toBe(500);
    expect(failed.error).toMatch(/^HTTP 500: x+$/);
    expect(failed.error!.length).toBe(500);
  });

  it('does not follow redirects', async () => {
    answer = (req, res) =>
      req.url === '/moved' ? res.writeHead(302, { location: `${base}/ok` }).end() : res.writeHead(200).end();
    expect(await open.send(`${base}/moved`, {}, '{}')).toMatchObject({ status: 302 });
  });

  it('refuses private destinations unless allowed, by address and by name (at connection time)', async () => {
    answer = (_req, res) => res.writeHead(200).end();
    const guarded = new WebhookSender(false);
    try {
      const byAddress = await guarded.send(`${base}/ok`, {}, '{}');
      expect(byAddress).toEqual({ status: null, error: expect.stringMatching(/loopback, private or link-local/) });
      const byName = await guarded.send(base.replace('127.0.0.1', 'localhost'), {}, '{}');
      expect(byName).toEqual({ status: null, error: expect.stringMatching(/loopback, private or link-local/) });
    } finally {
      guarded.close();
    }
  });

  it('gives a receiver the timeout for its answer; a 2xx that came in time delivers though its body is still coming', async () => {
    const quick = new WebhookSender(true, 300);
    try {
      answer = () => undefined; // never answers
      const started = Date.now();
      expect(await quick.send(`${base}/silent`, {}, '{}')).toEqual({ status: null, error: 'no answer within 0.3 s' });
      expect(Date.now() - started).toBeLessThan(2000);
      answer = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
      };
      expect(await quick.send(`${base}/slow-body`, {}, '{}')).toEqual({ status: 200, error: null });
      answer = (_req, res) => {
        res.writeHead(503);
        res.write('busy, ');
      };
      expect(await quick.send(`${base}/slow-failure`, {}, '{}')).toEqual({ status: 503, error: 'HTTP 503: busy, ' });
    } finally {
      quick.close();
    }
  });

  it('sends the body with the given headers and its own, and keeps 500 characters of a long answer', async () => {
    let received: { headers: IncomingMessage['headers']; body: string } | undefined;
    answer = (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received = { headers: req.headers, body };
        res.writeHead(400);
        res.end('e'.repeat(200_000));
      });
    };
    const result = await open.send(`${base}/hook?x=1`, { 'webhook-id': 'msg_1' }, '{"a":"é"}');

    expect(result).toEqual({ status: 400, error: `HTTP 400: ${'e'.repeat(490)}` });
    expect(received!.body).toBe('{"a":"é"}');
    expect(received!.headers).toMatchObject({
      'webhook-id': 'msg_1',
      'content-type': 'application/json',
      'content-length': '10',
      'user-agent': 'rewards-webhooks/1',
    });
  });

  it('decodes a character of the answer split across chunks whole', async () => {
    answer = (_req, res) => {
      res.writeHead(500);
      res.write(Buffer.from([0x61, 0xc3]));
      setTimeout(() => res.end(Buffer.from([0xa9, 0x62])), 50);
    };
    expect(await open.send(`${base}/split`, {}, '{}')).toEqual({ status: 500, error: 'HTTP 500: aéb' });
  });

  it('reports a receiver that is not there', async () => {
    const result = await open.send('http://127.0.0.1:1/nothing', {}, '{}');
    expect(result.status).toBeNull();
    expect(result.error).toMatch(/ECONNREFUSED/);
  });
});
