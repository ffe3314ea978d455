import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from '@rewards/contracts';
import { openApiResponses } from './openapi-responses.js';
import { freshPostgresDatabase } from './pg.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface StackOptions {
  eventInstances?: number;
  env?: Record<string, string>;
}

type ServiceKey = 'auth' | 'gateway' | `event-${number}`;

export interface Stack {
  gatewayUrl: string;
  /** The gateway's Prometheus metrics (its own listener; the public port has no /metrics). */
  gatewayMetricsUrl: string;
  authUrl: string;
  eventUrls: string[];
  client: Client;
  admin: { email: string; password: string };
  internalSecret: string;
  databaseUrls: { auth: string; event: string };
  logs: Record<string, string[]>;
  start(name: ServiceKey): Promise<void>;
  kill(name: ServiceKey, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
  /** Whether each started service's process is still running (false once it exited or was killed). */
  alive(): Record<string, boolean>;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Starts auth, event instance(s) and the gateway as real processes from the built output. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const instances = opts.eventInstances ?? 1;
  const [gatewayPort, metricsPort, authPort, ...eventPorts] = await Promise.all(
    Array.from({ length: 3 + instances }, () => freePort()),
  );
  // Each stack gets fresh databases of its own on the test server.
  const dbs = await Promise.all([freshPostgresDatabase('e2e_auth'), freshPostgresDatabase('e2e_event')]);
  const admin = { email: 'admin@example.com', password: randomBytes(12).toString('hex') };
  const internalSecret = randomBytes(32).toString('hex');
  const authUrl = `http://127.0.0.1:${authPort}`;
  const eventUrls = eventPorts.map((p) => `http://127.0.0.1:${p}`);
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    INTERNAL_SECRET: internalSecret,
    // Every test request comes from 127.0.0.1; suites that test the registration limit set their own.
    REGISTRATION_LIMIT_PER_HOUR: '0',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    AUTH_SERVICE_URL: authUrl,
    AUTH_PORT: String(authPort),
    GATEWAY_PORT: String(gatewayPort),
    EVENT_SERVICE_URL: eventUrls.join(','),
    AUTH_DATABASE_URL: dbs[0].url,
    EVENT_DATABASE_URL: dbs[1].url,
    ...opts.env,
  };
  const specs: Record<string, { script: string; env: Record<string, string>; ready: string }> = {
    auth: { script: 'apps/auth/dist/main.js', env: {}, ready: `${authUrl}/readyz` },
    gateway: {
      script: 'apps/gateway/dist/main.js',
      env: { METRICS_PORT: String(metricsPort) },
      ready: `${gatewayUrl}/readyz`,
    },
  };
  eventPorts.forEach((port, i) => {
    specs[`event-${i + 1}`] = {
      script: 'apps/event/dist/main.js',
      env: { EVENT_PORT: String(port), EVENT_INSTANCE: String(i + 1) },
      ready: `${eventUrls[i]}/readyz`,
    };
  });
  const procs = new Map<string, ChildProcess>();
  const logs: Record<string, string[]> = {};

  const launch = (name: string) => {
    const spec = specs[name]!;
    const child = spawn(process.execPath, [spec.script], {
      cwd: root,
      env: { ...base, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    logs[name] ??= [];
    const lines = logs[name];
    const collect = (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length > 5000) lines.splice(0, lines.length - 5000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    procs.set(name, child);
    return child;
  };

  const start = async (name: string) => {
    const child = launch(name);
    let exited = false;
    let lastProbe = 'no answer';
    child.once('exit', () => (exited = true));
    await waitFor(
      async () => {
        if (exited)
          throw Object.assign(new Error(`${name} exited during start:\n${logs[name]!.slice(-20).join('\n')}`), {
            fatal: true,
          });
        const res = await fetch(specs[name]!.ready, { signal: AbortSignal.timeout(1000) }).catch((e: Error) => e);
        lastProbe = res instanceof Error ? res.message : `${res.status} ${await res.text()}`;
        return !(res instanceof Error) && res.status === 200;
      },
      60_000,
      `${name} ready`,
    ).catch((err) => {
      throw exited
        ? new Error(`${name} exited during start:\n${logs[name]!.slice(-20).join('\n')}`)
        : new Error(
            `${(err as Error).message} (last probe: ${lastProbe}); last log lines:\n${logs[name]!.slice(-20).join('\n')}`,
          );
    });
  };

  const kill = async (name: string, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = procs.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
    procs.delete(name);
  };

  const stop = async () => {
    await Promise.all([...procs.keys()].map((n) => kill(n)));
    await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
  };

  try {
    await start('auth');
    await Promise.all(eventPorts.map((_, i) => start(`event-${i + 1}`)));
    await start('gateway');
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    gatewayUrl,
    gatewayMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    authUrl,
    eventUrls,
    // Every answer the client gets must be one the OpenAPI document describes.
    client: openApiResponses().wrap(createClient(gatewayUrl)),
    admin,
    internalSecret,
    databaseUrls: { auth: dbs[0].url, event: dbs[1].url },
    logs,
    start: (name) => start(name),
    kill: (name, signal) => kill(name, signal),
    stop,
    alive: () =>
      Object.fromEntries(
        Object.keys(specs).map((n) => {
          const child = procs.get(n);
          return [n, !!child && child.exitCode === null && child.signalCode === null];
        }),
      ),
  };
}
