import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { createLogger } from '@rewards/infrastructure';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleCsp, NOT_BUILT_MESSAGE, registerConsole } from '../../src/console.site.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serve(files: Record<string, string | Buffer>) {
  const root = mkdtempSync(join(tmpdir(), 'console-site-'));
  dirs.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  const app = Fastify();
  await registerConsole(app, { root, logger: createLogger('gateway', 'silent') });
  await app.ready();
  return app;
}

const INDEX =
  '<!doctype html><meta name="csp-nonce" content="__CSP_NONCE__">' +
  '<script type="module" src="/console/assets/app-1a2b.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

describe('the console site', () => {
  it('redirects / to /console/', async () => {
    const app = await serve({});
    for (const url of ['/', '/console']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe('/console/');
    }
  });

  it('answers 404 in the error shape, saying how to build it, when the console is not built', async () => {
    const app = await serve({});
    for (const url of ['/console/', '/console/events/42']) {
      const res = await app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({
        error: { code: 'NOT_FOUND', message: NOT_BUILT_MESSAGE },
        requestId: expect.any(String),
      });
    }
    expect(NOT_BUILT_MESSAGE).toContain('pnpm --filter @rewards/console build');
  });

  it('answers index.html for every screen, with a fresh nonce in the page and in a strict CSP', async () => {
    const app = await serve({ 'index.html': INDEX, 'assets/app-1a2b.js': SCRIPT });
    const nonces = new Set<string>();
    for (const url of ['/console/', '/console/events/42/edit', '/console/queue?eventId=1', '/console/index.html']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      const nonce = /content="([^"]+)"/.exec(res.body)![1]!;
      expect(nonce).not.toBe('__CSP_NONCE__');
      expect(res.headers['content-security-policy']).toBe(consoleCsp(nonce));
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      nonces.add(nonce);
    }
    expect(nonces.size).toBe(4);
    expect(consoleCsp('n')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'nonce-n'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  it('serves the built files as they are, gzipped when the browser takes it, hashed ones kept a year', async () => {
    const app = await serve({
      'index.html': INDEX,
      'assets/app-1a2b.js': SCRIPT,
      'assets/app-1a2b.js.gz': gzipSync(SCRIPT),
    });
    const plain = await app.inject({ url: '/console/assets/app-1a2b.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.body).toBe(SCRIPT);
    expect(plain.headers['content-type']).toMatch(/javascript/);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-security-policy']).toBe(consoleCsp());

    const zipped = await app.inject({ url: '/console/assets/app-1a2b.js', headers: { 'accept-encoding': 'br, gzip' } });
    expect(zipped.statusCode).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(SCRIPT.length / 4);

    const missing = await app.inject({ url: '/console/assets/nope-0000.js' });
    expect(missing.statusCode).toBe(404);
    for (const url of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/.env']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).not.toBe(200);
    }
  });
});
