import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@rewards/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The README's `pnpm start`: the start script runs all three services and stops them on Ctrl-C. */
describe('the start script', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts gateway, auth and event on the embedded database, serves a login, and stops all three on SIGINT', async () => {
    const [gateway, auth, event, metrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const admin = { email: 'owner@example.com', password: randomBytes(12).toString('hex') };
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        GATEWAY_PORT: String(gateway),
        METRICS_PORT: String(metrics),
        AUTH_PORT: String(auth),
        EVENT_PORT: String(event),
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${gateway}`;
      await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, 'the gateway ready');
      const client = createClient(base);
      const login = await client.call('login', { body: admin });
      expect(login.status).toBe(200);
      const me = await client.call('me', { token: login.body.accessToken });
      expect(me.body.user).toMatchObject({ email: admin.email, roles: ['ADMIN'] });
      // The login reaches the event service through auth's outbox: auth was told where event runs.
      const now = Date.now();
      const event = await client.call('createEvent', {
        token: login.body.accessToken,
        body: {
          title: 'Sign in once',
          startsAt: new Date(now - 86_400_000).toISOString(),
          endsAt: new Date(now + 86_400_000).toISOString(),
          condition: { type: 'LOGIN_DAYS', days: 1 },
          status: 'ACTIVE',
        },
      });
      expect(event.status).toBe(201);
      await waitFor(async () => {
        const progress = await client.call('progress', { token: login.body.accessToken, params: { id: event.body.event.id } });
        return progress.body.condition?.current === 1;
      }, 10_000, "the admin's LOGIN delivered to the event service");
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    // Every service closed its embedded database and released its lock.
    expect(existsSync(join(dataDir, 'auth.lock'))).toBe(false);
    expect(existsSync(join(dataDir, 'event.lock'))).toBe(false);
    expect(output.join('')).not.toContain(admin.password);
  });
});
