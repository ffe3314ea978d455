#!/usr/bin/env node
// Runs the whole platform: auth, N event instances and the gateway, as child processes. Without
// AUTH_DATABASE_URL / EVENT_DATABASE_URL it first starts one embedded PostgreSQL server (data under
// <DATA_DIR>/postgres) with a database per service. Ctrl-C (SIGINT) or SIGTERM stops the services,
// waits until each has closed its database, then stops the embedded server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pinoPretty from 'pino-pretty';
import { startEmbeddedPostgres } from './lib/embedded-postgres.mjs';
import { serviceEnv } from './lib/service-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const env = { ...process.env };
// Internal calls between the services need a shared secret; a fresh one per run unless configured.
env.INTERNAL_SECRET ||= randomBytes(32).toString('hex');
const instances = Number(env.EVENT_INSTANCES ?? 1);
if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
  console.error('EVENT_INSTANCES must be an integer from 1 to 16');
  process.exit(1);
}
const authPort = Number(env.AUTH_PORT ?? 3001);
const eventPort = Number(env.EVENT_PORT ?? 3002);
const eventUrls = Array.from({ length: instances }, (_, i) => `http://127.0.0.1:${eventPort + i}`);
env.AUTH_SERVICE_URL ||= `http://127.0.0.1:${authPort}`;
// The gateway balances over these; auth's outbox delivers to them.
env.EVENT_SERVICE_URL ||= eventUrls.join(',');

// In a terminal the services' JSON log lines are shown as readable text; piped elsewhere they stay JSON.
const output = process.stdout.isTTY
  ? pinoPretty({
      colorize: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,reqId',
      singleLine: true,
      sync: true,
    })
  : process.stdout;
/** The first administrator's generated password, when auth prints it on a first start. */
let generatedAdmin;

const children = [];
const names = new Map();
function run(name, script, extra) {
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk) => {
    const text = chunk.toString();
    const created = /First administrator created\.\s+email:\s+(\S+)\s+password:\s+(\S+)/.exec(text);
    if (created) generatedAdmin = { email: created[1], password: created[2] };
    output.write(text);
  });
  child.stderr.on('data', (chunk) => process.stderr.write(chunk));
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping the platform`);
      stop(1);
    } else if (children.length === 0) {
      // Every service is down: the rest is the server's own shutdown, which the services' deadline does not cut.
      clearTimeout(servicesDeadline);
      void finish(exitCode);
    }
  });
  children.push(child);
  names.set(child, name);
}

let stopping = false;
let exitCode = 0;
/** Set on stop: services still running when it passes are killed. */
let servicesDeadline;
/** The embedded server, when this run started one; stopped after the services. */
let server;
let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  if (server) {
    const t0 = Date.now();
    const stopped = await server.stop();
    if (stopped.code !== 0) console.error(`stopping the embedded PostgreSQL server failed:\n${stopped.output}`);
    else console.error(`embedded PostgreSQL stopped (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  process.exit(code);
}
function stop(code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  if (children.length === 0) return void finish(code);
  for (const c of children) c.kill('SIGTERM');
  // Each service finishes its requests and closes its database; one that has not stopped in 30 s is killed.
  servicesDeadline = setTimeout(() => {
    for (const c of children) {
      console.error(`${names.get(c) ?? 'a service'} did not stop within 30 s; killing it`);
      c.kill('SIGKILL');
    }
    void finish(code || 1);
  }, 30_000).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

if (!env.AUTH_DATABASE_URL || !env.EVENT_DATABASE_URL) {
  const dataDir = join(env.DATA_DIR || join(root, '.data'), 'postgres');
  try {
    server = await startEmbeddedPostgres({ dataDir, log: (line) => console.error(line) });
    await server.ensureDatabases(['auth', 'event']);
  } catch (err) {
    console.error(`could not start the embedded PostgreSQL server: ${err.message}`);
    if (server) await server.stop();
    process.exit(1);
  }
  env.AUTH_DATABASE_URL ||= server.url('auth');
  env.EVENT_DATABASE_URL ||= server.url('event');
  if (stopping) await finish(exitCode);
}

run('auth', 'apps/auth/dist/main.js', serviceEnv('auth', env));
for (let i = 0; i < instances; i++) {
  run(`event-${i + 1}`, 'apps/event/dist/main.js', {
    ...serviceEnv('event', env),
    EVENT_PORT: String(eventPort + i),
    EVENT_INSTANCE: String(i + 1),
  });
}
run('gateway', 'apps/gateway/dist/main.js', serviceEnv('gateway', env));
void announceWhenReady();

/** One block with where everything is, once the gateway answers ready. */
async function announceWhenReady() {
  const port = Number(env.GATEWAY_PORT ?? 3000);
  const base = `http://localhost:${port}`;
  const until = Date.now() + 120_000;
  while (!stopping && Date.now() < until) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (stopping || Date.now() >= until) return;
  const email = generatedAdmin?.email ?? env.ADMIN_EMAIL ?? 'admin@example.com';
  const password = generatedAdmin
    ? generatedAdmin.password
    : env.ADMIN_PASSWORD
      ? '(the ADMIN_PASSWORD you set)'
      : '(the one printed at the first start)';
  const lines = [
    '',
    '  Event & Reward Platform is up',
    `    Console   ${base}/console/`,
    `    API       ${base}/api/v1`,
    `    Docs      ${base}/docs   (OpenAPI document: ${base}/docs-json)`,
    `    Admin     ${email}   password: ${password}`,
    `    Database  ${server ? `embedded PostgreSQL, data in ${server.dataDir}` : 'the configured PostgreSQL server'}`,
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
