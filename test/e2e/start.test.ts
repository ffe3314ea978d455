import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@rewards/contracts';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The end of a run's output, to tell why a stop went wrong. */
const lastLines = (output: string[]) => output.join('').split('\n').slice(-40).join('\n');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The README's `pnpm start` with no database configured: one embedded PostgreSQL server under
 * DATA_DIR for the whole platform, stopped after the services on Ctrl-C, its data kept between runs.
 */
describe('the start script on the embedded PostgreSQL server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-start-'));
  const pgData = join(dataDir, 'postgres');
  const admin = { email: 'owner@example.com', password: randomBytes(12).toString('hex') };
  const started: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    // A server this file left running (a failed case) is stopped by the next start; stop it here too.
    const pid = existsSync(join(pgData, 'postmaster.pid'))
      ? Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0])
      : 0;
    if (pid && alive(pid)) process.kill(pid, 'SIGINT');
    await waitFor(async () => !pid || !alive(pid), 30_000, 'the embedded server stopped').catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(extra: Record<string, string> = {}) {
    const [gateway, auth, event, metrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    // A process group of its own, so a case can kill the script and its services at once, as a crash would.
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: root,
      detached: true,
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        GATEWAY_PORT: String(gateway),
        METRICS_PORT: String(metrics),
        AUTH_PORT: String(auth),
        EVENT_PORT: String(event),
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: 'info',
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    const output: string[] = [];
    child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
    child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${gateway}`;
    const t0 = Date.now();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, 'the gateway ready').catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${output.join('')}`);
      },
    );
    return {
      child,
      output,
      exited,
      client: createClient(base),
      readyMs: Date.now() - t0,
      eventPort: event,
      gatewayPort: gateway,
    };
  }

  const serverPid = () => Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let eventId: string;

  it('first start: initialises the server, creates the databases, serves a login; Ctrl-C stops the services, then the server', async () => {
    const run = await start();
    const login = await run.client.call('login', { body: admin });
    expect(login.status).toBe(200);
    const me = await run.client.call('me', { token: login.body.accessToken });
    expect(me.body.user).toMatchObject({ email: admin.email, roles: ['ADMIN'] });
    // The login reaches the event service through auth's outbox: auth was told where event runs.
    const now = Date.now();
    const event = await run.client.call('createEvent', {
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
    eventId = event.body.event.id;
    await waitFor(
      async () => {
        const progress = await run.client.call('progress', { token: login.body.accessToken, params: { id: eventId } });
        return progress.body.condition?.current === 1;
      },
      10_000,
      "the admin's LOGIN delivered to the event service",
    );
    const pid = serverPid();
    expect(alive(pid)).toBe(true);
    // What only a process's start can set (scripts/lib/service-env.mjs): a heap limit for each
    // service, and for auth, which hashes on libuv's threads, one thread per core (at least 2).
    const services = Object.fromEntries(
      readFileSync(`/proc/${run.child.pid}/task/${run.child.pid}/children`, 'utf8')
        .trim()
        .split(' ')
        .map((child) => {
          const script = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[1]!;
          const env = readFileSync(`/proc/${child}/environ`, 'utf8').split('\0');
          return [script, env.filter((e) => /^(NODE_OPTIONS|UV_THREADPOOL_SIZE)=/.test(e)).sort()];
        })
        .filter(([script]) => String(script).startsWith('apps/')),
    );
    const heap = 'NODE_OPTIONS=--max-old-space-size=1024';
    expect(services).toEqual({
      'apps/auth/dist/main.js': [heap, `UV_THREADPOOL_SIZE=${Math.max(2, availableParallelism())}`],
      'apps/event/dist/main.js': [heap],
      'apps/gateway/dist/main.js': [heap],
    });
    // Once everything is up, one block says where it all is.
    await waitFor(async () => run.output.join('').includes('Event & Reward Platform is up'), 10_000, 'the URL block');
    const block = run.output.join('');
    expect(block).toContain(`Console   http://localhost:${run.gatewayPort}/console/`);
    expect(block).toContain(`API       http://localhost:${run.gatewayPort}/api/v1`);
    expect(block).toContain(`Docs      http://localhost:${run.gatewayPort}/docs`);
    expect(block).toContain(`Admin     ${admin.email}   password: (the ADMIN_PASSWORD you set)`);
    // Nothing on the way there was a warning or an error (services log JSON when not on a terminal).
    const levels = block
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(levels.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);

    process.kill(run.child.pid!, 'SIGINT');

    expect(await run.exited, lastLines(run.output)).toBe(0);
    const text = run.output.join('');
    expect(text).toContain('embedded PostgreSQL stopped');
    // The server removes its pid file just before its process ends.
    await waitFor(async () => !alive(pid), 5000, 'the server process gone');
    expect(existsSync(join(pgData, 'postmaster.pid'))).toBe(false);
    expect(text).not.toContain(admin.password);
    expect(text).not.toContain(readFileSync(`${pgData}.password`, 'utf8').trim());
  });

  it('second start on the same data keeps everything', async () => {
    const run = await start();
    const login = await run.client.call('login', { body: admin });
    expect(login.status).toBe(200);
    const event = await run.client.call('getEvent', { token: login.body.accessToken, params: { id: eventId } });
    expect(event.status).toBe(200);
    expect(event.body.event.title).toBe('Sign in once');
    process.kill(run.child.pid!, 'SIGINT');
    expect(await run.exited, lastLines(run.output)).toBe(0);
  });

  it('a server left running by a killed run is stopped and started again, data kept; EVENT_INSTANCES=2 works on it', async () => {
    const killed = await start();
    const leftover = serverPid();
    process.kill(-killed.child.pid!, 'SIGKILL');
    await killed.exited;
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${killed.eventPort}/healthz`).catch(() => null)) === null,
      10_000,
      'the killed services gone',
    );
    expect(alive(leftover)).toBe(true);

    const run = await start({ EVENT_INSTANCES: '2' });

    await waitFor(async () => !alive(leftover), 5000, 'the leftover server gone');
    expect(run.output.join('')).toContain(`stopping a PostgreSQL server left running on ${pgData}`);
    const login = await run.client.call('login', { body: admin });
    expect(login.status).toBe(200);
    // The gateway is ready once one event instance is; the second loads auth's keys on its own time.
    const secondReady = `http://127.0.0.1:${run.eventPort + 1}/readyz`;
    await waitFor(async () => (await fetch(secondReady)).status === 200, 10_000, 'the second event instance ready');
    expect((await fetch(secondReady)).status).toBe(200);
    expect((await run.client.call('getEvent', { token: login.body.accessToken, params: { id: eventId } })).status).toBe(
      200,
    );
    process.kill(run.child.pid!, 'SIGINT');
    expect(await run.exited, lastLines(run.output)).toBe(0);
  });
});
