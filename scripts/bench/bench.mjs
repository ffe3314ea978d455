#!/usr/bin/env node
// `pnpm bench`: claims through the gateway on a PostgreSQL server, judged against the least SQL a
// claim needs (the event service's own repositories, straight to PostgreSQL) and a bare one-insert
// route; then the embedded server, logins against raw argon2id and against bare routes that only
// verify or do a login's least, the gateway's added latency, claim latency against history size, history
// queries over a million claims, and each service's peak memory. Prints a table, then the figures
// as one JSON object on the last line.
import { fork, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { createMetrics } from '@rewards/infrastructure';
import { openDatabase, UnitOfWork } from '@rewards/infrastructure/persistence';
import { ActivityRepository } from '../../apps/event/dist/activities/activity.repository.js';
import { ClaimRepository } from '../../apps/event/dist/claims/claim.repository.js';
import { ClaimWriter } from '../../apps/event/dist/claims/claim-writer.js';
import { FactsReader } from '../../apps/event/dist/claims/facts-reader.js';
import { claimOf, decideClaim } from '../../apps/event/dist/domain/claim-decision.js';
import { EventRepository } from '../../apps/event/dist/events/event.repository.js';
import { seedPlayers, withPg as withClient } from '../lib/seed.mjs';
import { authThreadpoolSize } from '../lib/service-env.mjs';
import { startEmbeddedPostgres } from '../lib/embedded-postgres.mjs';
import {
  backendsOf,
  busiestThreadsMs,
  cpuMs,
  freePort,
  peakRssMb,
  root,
  rssMb,
  serverPssMb,
  spawnService,
  stopService,
  threadCpuMs,
  waitReady,
} from '../lib/services.mjs';

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const PLAYERS = Number(process.env.BENCH_PLAYERS ?? 10_000);
const HISTORY_CLAIMS = Number(process.env.BENCH_HISTORY_CLAIMS ?? 1_000_000);
const ARGON2ID = 2;
/** Database connections of the event service, and of the SQL ceiling that stands in for it. */
const EVENT_POOL = Number(process.env.BENCH_EVENT_POOL ?? 32);

const log = (msg) => process.stderr.write(`${msg}\n`);
const round = (n, d = 1) =>
  n === null || n === undefined || Number.isNaN(n) ? null : Math.round(n * 10 ** d) / 10 ** d;
const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null;

// ---- databases ----------------------------------------------------------------------------------

async function createDatabase(prefix) {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await withClient(BASE_URL, (c) => c.query(`create database ${name}`));
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withClient(BASE_URL, (c) => c.query(`drop database if exists ${name} with (force)`)),
  };
}

// ---- HTTP helpers -------------------------------------------------------------------------------

async function call(base, method, path, { token, body, headers } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function expectOk(promise, what) {
  const res = await promise;
  if (res.status >= 300) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Runs autocannon with a progress bar on stderr. `perSecond` is the requests over the run's own wall
 * time: autocannon's average is per whole second, and a run of a fixed number of requests ends inside
 * its last one (7,000 requests in 2.6 s came out as 7,000 / 3).
 */
function load(opts) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon({ connections: 16, timeout: 10, ...opts }, (err, result) =>
      err
        ? reject(err)
        : resolve({ ...result, perSecond: result.requests.total / ((performance.now() - started) / 1000) }),
    );
    autocannon.track(instance, { outputStream: process.stderr, renderResultsTable: false, renderLatencyTable: false });
  });
}

/** 8 connections for 5 s (unless `extra` says otherwise) of JSON POSTs to `path`, each body made by `body()`. */
function postLoad(url, path, body, extra = {}) {
  return load({
    url,
    connections: 8,
    duration: 5,
    ...extra,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({
          ...req,
          path,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body()),
        }),
      },
    ],
  });
}

async function pool(concurrency, items, fn) {
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

// ---- the platform -------------------------------------------------------------------------------

/** The three services; `eventPool` null leaves the event service's pool at its default, as `pnpm start` does. */
async function startPlatform({ authDb, eventDb, internalSecret, admin, eventPool = EVENT_POOL }) {
  const [gatewayPort, authPort, eventPort, metricsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const authUrl = `http://127.0.0.1:${authPort}`;
  const eventUrl = `http://127.0.0.1:${eventPort}`;
  const common = { INTERNAL_SECRET: internalSecret, AUTH_SERVICE_URL: authUrl, EVENT_SERVICE_URL: eventUrl };
  const auth = spawnService('auth', {
    ...common,
    AUTH_PORT: String(authPort),
    AUTH_DATABASE_URL: authDb,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    AUTH_DB_POOL_SIZE: '10',
  });
  await waitReady(`${authUrl}/readyz`);
  const event = spawnService('event', {
    ...common,
    EVENT_PORT: String(eventPort),
    EVENT_DATABASE_URL: eventDb,
    ...(eventPool === null ? {} : { EVENT_DB_POOL_SIZE: String(eventPool) }),
    // The bench's webhook receiver runs on this machine; its first retry comes 2 s after a failure.
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '2,2,2,2,2',
  });
  const gateway = spawnService('gateway', {
    ...common,
    GATEWAY_PORT: String(gatewayPort),
    METRICS_PORT: String(metricsPort),
    HOST: '127.0.0.1',
  });
  await Promise.all([waitReady(`${eventUrl}/readyz`), waitReady(`http://127.0.0.1:${gatewayPort}/readyz`)]);
  return { auth, event, gateway, authUrl, eventUrl, gatewayUrl: `http://127.0.0.1:${gatewayPort}` };
}

/** The webhook receiver (webhook-receiver.mjs) in its own process, and what it has received. */
async function startReceiver() {
  const child = fork(join(root, 'scripts/bench/webhook-receiver.mjs'), [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', function ready(m) {
      if (m.ready === undefined) return;
      child.off('message', ready);
      resolve(m.ready);
    });
  });
  let next = 0;
  const ask = (msg) =>
    new Promise((resolve) => {
      const id = next++;
      child.on('message', function answer(m) {
        if (m.id !== id) return;
        child.off('message', answer);
        resolve(m);
      });
      child.send({ ...msg, id });
    });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    /** `{ attempts, delivered }`; with `delays`, each message's delay; with `timesFrom: n`, arrival times from the n-th on. */
    state: (opts = {}) => ask({ op: 'state', ...opts }),
    failing: (value) => ask({ op: 'failing', value }),
    reset: () => ask({ op: 'reset' }),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.disconnect();
      }),
  };
}

async function waitUntil(check, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function ingest(gatewayUrl, adminToken, activities) {
  for (let i = 0; i < activities.length; i += 1000) {
    await expectOk(
      call(gatewayUrl, 'POST', '/api/v1/activities', {
        token: adminToken,
        body: { activities: activities.slice(i, i + 1000) },
      }),
      'ingest',
    );
  }
}

async function createEvents(gatewayUrl, adminToken, n, { condition, stock = null, startsAt, endsAt }) {
  const ids = [];
  await pool(8, Array.from({ length: n }), async () => {
    const { event } = await expectOk(
      call(gatewayUrl, 'POST', '/api/v1/events', {
        token: adminToken,
        body: { title: `Bench ${ids.length}`, startsAt, endsAt, condition, status: 'ACTIVE' },
      }),
      'create event',
    );
    await expectOk(
      call(gatewayUrl, 'POST', `/api/v1/events/${event.id}/rewards`, {
        token: adminToken,
        body:
          stock === null
            ? { type: 'POINT', name: '10 points', quantity: 10 }
            : { type: 'ITEM', name: 'Limited item', quantity: 1, stock },
      }),
      'create reward',
    );
    ids.push(event.id);
  });
  return ids;
}

/** Claims for distinct (player, event) pairs, so every request is a new claim, never a 409. */
function claimLoad(base, players, events, cursor, connections, { idempotent = false, ...extra } = {}) {
  const ids = [];
  const statuses = {};
  return load({
    url: base,
    connections,
    duration: DURATION,
    ...extra,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => {
          const k = cursor.next++;
          const player = players[k % players.length];
          const event = events[Math.floor(k / players.length) % events.length];
          return {
            ...req,
            path: `/api/v1/events/${event}/claims`,
            headers: {
              authorization: `Bearer ${player.token}`,
              ...(idempotent ? { 'idempotency-key': randomUUID() } : {}),
            },
          };
        },
        onResponse: (status, body) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === 201) ids.push(JSON.parse(body).claim.id);
        },
      },
    ],
  }).then((result) => ({ result, ids, statuses }));
}

const summary = (r) => ({
  rps: round(r.result.perSecond, 0),
  ok: r.statuses[201] ?? 0,
  p50: r.result.latency.p50,
  p99: r.result.latency.p99,
  non2xx: r.result.non2xx,
  errors: r.result.errors + r.result.timeouts,
  statuses: r.statuses,
});

/** The platform's service processes, by name, for `cpuSnapshot`. */
const services = (platform) => ({
  gateway: platform.gateway.pid,
  event: platform.event.pid,
  auth: platform.auth.pid,
});

/**
 * CPU used so far, in ms, by each named process (`procs`: name → pid), the backends of the named
 * databases, and this process (the load generator): where a request's cost goes.
 */
function cpuSnapshot(procs, ...dbNames) {
  const backends = dbNames.flatMap((name) => backendsOf(name));
  return {
    procs: Object.fromEntries(Object.entries(procs).map(([name, pid]) => [name, { ms: cpuMs(pid) }])),
    postgres: new Map(backends.map((pid) => [pid, cpuMs(pid)])),
    load: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  };
}

/** CPU ms per request between two snapshots: each named process, `postgres` and `load`. */
function cpuPer(before, after, requests) {
  let pg = 0;
  for (const [pid, ms] of after.postgres) pg += ms - (before.postgres.get(pid) ?? 0);
  const per = (ms) => round(ms / requests, 2);
  const procs = Object.keys(before.procs).map((name) => [name, per(after.procs[name].ms - before.procs[name].ms)]);
  return { ...Object.fromEntries(procs), postgres: per(pg), load: per(after.load - before.load) };
}

/** The platform's part of a `cpuPer` (gateway, auth, event, PostgreSQL); `allCpu` adds the load generator's. */
const platformCpu = (c) => c.gateway + c.auth + c.event + c.postgres;
const allCpu = (c) => platformCpu(c) + c.load;

/**
 * Logins through the gateway against raw argon2id verifications with the same parameters, both
 * 8 at a time; and where a login's CPU goes (each service, both databases' backends, the load).
 */
async function measureLogins(platform, row, { authDb, eventDb, password, passwordHash }) {
  // What the platform burns with nothing to do (its timers and polls): every request measured below
  // shares the two cores with it.
  log('idle CPU, 10 s …');
  const idleBefore = cpuSnapshot(services(platform), authDb.name, eventDb.name);
  await new Promise((r) => setTimeout(r, 10_000));
  const idle = cpuPer(idleBefore, cpuSnapshot(services(platform), authDb.name, eventDb.name), 10);
  row(
    'CPU ms/s with no load: gateway / auth / event / PostgreSQL',
    `${idle.gateway} / ${idle.auth} / ${idle.event} / ${idle.postgres} = ${round(platformCpu(idle), 1)}`,
  );
  const rawRate = () =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['scripts/bench/argon2-rate.mjs'], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          UV_THREADPOOL_SIZE: authThreadpoolSize(),
          ARGON2_HASH: passwordHash,
          ARGON2_PASSWORD: password,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.on('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`argon2-rate exited ${code}`)),
      );
    });
  // The raw rate before and after the logins, averaged: on this kind of machine it drifts by a tenth or
  // more between runs a minute apart, and one reading at one end moved the ratio as much.
  log('raw argon2id verifications/s …');
  const threads = Number(authThreadpoolSize());
  const { perSecond: rawBefore, poolMsPerHash: poolBefore } = await rawRate();
  const loginUsers = await seedPlayers(authDb.url, 2000, 'login', passwordHash);
  let li = 0;
  /** Logins' kind of load through the gateway (`postLoad`), and the CPU per request. */
  const authLoad = async (path, body, extra = {}) => {
    const before = cpuSnapshot(services(platform), authDb.name, eventDb.name);
    const result = await postLoad(platform.gatewayUrl, path, body, extra);
    return {
      result,
      cpu: cpuPer(before, cpuSnapshot(services(platform), authDb.name, eventDb.name), result.requests.total),
    };
  };
  const login = () => ({ email: loginUsers[li++ % loginUsers.length].email, password });
  // 3 s of the same logins first, not measured, as the claim runs have: the services' code for them
  // is then compiled as it is in a platform that has run a while. Each account signs in once in all.
  log('warming up …');
  await postLoad(platform.gatewayUrl, '/api/v1/auth/login', login, { duration: 3 });
  log('logins/s …');
  const authThreadsBefore = threadCpuMs(platform.auth.pid);
  const { result: logins, cpu: c } = await authLoad('/api/v1/auth/login', login);
  const authThreads = busiestThreadsMs(authThreadsBefore, threadCpuMs(platform.auth.pid), threads);
  const loginsPerSec = round(logins.perSecond, 0);
  const bare = await bareLoginFloors(authDb, loginUsers, password, passwordHash);
  log('raw argon2id verifications/s again …');
  const { perSecond: rawAfter, poolMsPerHash: poolAfter } = await rawRate();
  const hashesPerSec = round((rawBefore + rawAfter) / 2, 0);
  row('logins/s through the gateway', `${loginsPerSec} (non-2xx ${logins.non2xx})`);
  row(
    `raw argon2id verifications/s (same parameters, auth's ${threads} libuv threads; before / after the logins)`,
    `${hashesPerSec} (${rawBefore} / ${rawAfter})`,
  );
  row('logins / raw argon2id', `${round((100 * loginsPerSec) / hashesPerSec)} %`, '≥ 90 %');
  for (const [what, r] of [
    ['bare Fastify route doing one argon2id verification (no database)', bare.verify],
    ["bare Fastify route doing a login's least (read the hash, verify, insert a session)", bare.login],
  ]) {
    row(
      `${what}: requests/s, % of raw argon2id; CPU ms per request: route / PostgreSQL / load`,
      `${r.rps} (non-2xx ${r.non2xx}), ${round((100 * r.rps) / hashesPerSec)} %; ` +
        `${r.cpu.route} / ${r.cpu.postgres} / ${r.cpu.load}`,
    );
  }
  row('logins / bare login route', `${round((100 * loginsPerSec) / bare.login.rps)} %`);
  row(
    'CPU ms per login: gateway / auth / event / PostgreSQL / load',
    `${c.gateway} / ${c.auth} / ${c.event} / ${c.postgres} / ${c.load}`,
  );
  // The hash's own CPU, on libuv's pool: alone, and in auth while the rest of the logins shares the cores.
  const perLogin = (ms) => round(ms / logins.requests.total, 2);
  const poolMsPerHash = { raw: round((poolBefore + poolAfter) / 2, 2), inAuth: perLogin(authThreads.busiest) };
  row(
    `argon2id CPU ms per verification on libuv's ${threads} threads: alone (raw) / in auth during the logins ` +
      '(its busiest threads, also signing the token); the rest of auth per login',
    `${poolMsPerHash.raw} / ${poolMsPerHash.inAuth}; ${perLogin(authThreads.rest)}`,
  );
  // With the two cores busy, logins/raw comes to about the hash's share of what a login costs in all.
  const hashCpuMs = (1000 * threads) / hashesPerSec;
  const loginCpuMs = allCpu(c);
  row(
    "argon2id's share of a login's CPU: one hash (from the raw rate) / all of a login",
    `${round(hashCpuMs, 2)} / ${round(loginCpuMs, 2)} ms = ${round((100 * hashCpuMs) / loginCpuMs)} %`,
  );
  // What a request costs on the same path at the same rate without a password check: refreshes with
  // a token that does not exist (gateway, auth, one transaction that finds no row). A login's CPU
  // beyond its argon2id is at least this; with it, logins/s can come to at most the ratio below.
  log('refused refreshes at the logins rate …');
  const unknownToken = () => ({ refreshToken: randomBytes(32).toString('base64url') });
  const atLoginsRate = { overallRate: Math.max(1, Math.round(loginsPerSec)) };
  await postLoad(platform.gatewayUrl, '/api/v1/auth/refresh', unknownToken, { ...atLoginsRate, duration: 2 });
  const { result: refused, cpu: f } = await authLoad('/api/v1/auth/refresh', unknownToken, atLoginsRate);
  const floorMs = allCpu(f);
  row(
    `CPU ms per refused refresh at ${round(refused.perSecond, 0)}/s (401: ${refused['4xx']}): ` +
      'gateway / auth / event / PostgreSQL / load',
    `${f.gateway} / ${f.auth} / ${f.event} / ${f.postgres} / ${f.load} = ${round(floorMs, 2)}`,
  );
  row(
    'logins / raw argon2id if a login cost one hash plus a refused refresh',
    `${round((100 * hashCpuMs) / (hashCpuMs + floorMs))} %`,
  );
  return { loginsPerSec, hashesPerSec, poolMsPerHash, bare, cpuPerLogin: c, cpuPerRefusedRefresh: f };
}

// ---- ceilings -----------------------------------------------------------------------------------

/**
 * What a login through any HTTP service on this machine could come to: a bare Fastify route with the
 * auth service's libuv threads, first verifying one hash (no database), then reading the account's
 * hash, verifying and inserting a session; each 8 connections for 5 s, straight to the route.
 */
async function bareLoginFloors(authDb, users, password, passwordHash) {
  const port = await freePort();
  const child = spawn(process.execPath, ['scripts/bench/bare-login-server.mjs'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: authDb.url,
      PORT: String(port),
      UV_THREADPOOL_SIZE: authThreadpoolSize(),
      ARGON2_HASH: passwordHash,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPort(`http://127.0.0.1:${port}/verify`);
    let next = 0;
    const run = async (path, body) => {
      log(`bare ${path} route, 8 connections …`);
      const before = cpuSnapshot({ route: child.pid }, authDb.name);
      const result = await postLoad(`http://127.0.0.1:${port}`, path, body);
      return {
        rps: round(result.perSecond, 0),
        non2xx: result.non2xx,
        cpu: cpuPer(before, cpuSnapshot({ route: child.pid }, authDb.name), result.requests.total),
      };
    };
    const verify = await run('/verify', () => ({ password }));
    const login = await run('/login', () => ({ email: users[next++ % users.length].email, password }));
    return { verify, login };
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * The least SQL a correct claim needs, with the event service's pool size and as many claims in flight
 * as the end-to-end run: the event service's own code (from its build) doing the player's facts read
 * and the claim's write, with an Idempotency-Key, on a definition read once, both as the service makes
 * them (FactsReader and ClaimWriter: claims in flight together share a statement); no HTTP, no Nest,
 * no token checks.
 */
async function sqlCeiling(eventDb, dbName, players, eventIds, connections, inFlight) {
  const silent = { warn: () => undefined, debug: () => undefined, info: () => undefined };
  const database = await openDatabase({ url: eventDb, poolSize: connections, logger: silent });
  const { db } = database;
  const metrics = createMetrics('bench');
  const reader = new FactsReader(new UnitOfWork(database), new ActivityRepository(), metrics);
  const writer = new ClaimWriter(
    new UnitOfWork(database),
    new ClaimRepository(),
    { CLAIM_WRITE_BATCH_MAX: 32 },
    metrics,
  );
  const events = new EventRepository();
  const definitions = await Promise.all(eventIds.map((id) => events.withRewards(db, id)));
  let next = 0;
  let done = 0;
  const latencies = [];
  const deadline = Date.now() + DURATION * 1000;
  const work = async () => {
    while (Date.now() < deadline) {
      const k = next++;
      const userId = players[k % players.length].id;
      const { event, rewards } = definitions[Math.floor(k / players.length) % definitions.length];
      const t0 = performance.now();
      const now = new Date();
      const facts = await reader.read(userId, event);
      const d = decideClaim(event, rewards, facts, now);
      const at = now.toISOString();
      const claim = claimOf(d, { id: randomUUID(), eventId: event.id, userId, now });
      const outcome = await writer.write({
        claim,
        eventVersion: event.version,
        stock: d.stock,
        waitForStock: false,
        idempotencyKey: randomUUID(),
        message: { messageId: randomUUID(), type: 'claim.approved', timestamp: at, claim },
      });
      if (!outcome.written) throw new Error(`SQL ceiling: claim not written (${outcome.why})`);
      done++;
      latencies.push(performance.now() - t0);
    }
  };
  const pgBefore = new Map(backendsOf(dbName).map((pid) => [pid, cpuMs(pid)]));
  const selfBefore = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(Array.from({ length: inFlight }, work));
  const seconds = (Date.now() - t0) / 1000;
  const self = process.cpuUsage(selfBefore);
  let pgMs = 0;
  for (const pid of backendsOf(dbName)) pgMs += cpuMs(pid) - (pgBefore.get(pid) ?? 0);
  await database.close();
  latencies.sort((a, b) => a - b);
  return {
    rps: round(done / seconds, 0),
    p99: round(pct(latencies, 99)),
    postgresMsPerClaim: round(pgMs / done, 2),
    nodeMsPerClaim: round((self.user + self.system) / 1000 / done, 2),
  };
}

async function bareInsertCeiling(eventDb, connections) {
  const port = await freePort();
  const child = spawn(process.execPath, ['scripts/bench/bare-insert-server.mjs'], {
    cwd: root,
    env: { PATH: process.env.PATH, DATABASE_URL: eventDb, PORT: String(port), POOL_SIZE: String(EVENT_POOL) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitForPort(`http://127.0.0.1:${port}/insert`);
    const result = await load({
      url: `http://127.0.0.1:${port}/insert`,
      method: 'POST',
      connections,
      duration: DURATION,
    });
    return { rps: round(result.perSecond, 0), p99: result.latency.p99 };
  } finally {
    child.kill('SIGTERM');
  }
}

async function waitForPort(url) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url, { method: 'POST' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not come up`);
}

// ---- checks -------------------------------------------------------------------------------------

async function integrity(eventDb, acceptedIds) {
  return withClient(eventDb, async (c) => {
    const dup = await c.query(
      `select count(*)::int as n from (select 1 from claims where status in ('PENDING', 'APPROVED')
       group by user_id, event_id, period_key having count(*) > 1) d`,
    );
    const stock = await c.query(
      `select r.id, r.stock,
              (select sum(s.remaining) from reward_stock s where s.reward_id = r.id)::int as remaining,
              coalesce((select sum(g.quantity) from grants g where g.reward_id = r.id), 0)::int as granted
       from rewards r where r.stock is not null`,
    );
    const overIssued = stock.rows.reduce(
      (n, r) =>
        n +
        Math.max(0, r.granted - r.stock) +
        (r.remaining < 0 ? 1 : 0) +
        (r.stock - r.remaining !== r.granted ? 1 : 0),
      0,
    );
    const lost = await c.query(
      `select count(*)::int as n from jsonb_array_elements_text($1::jsonb) a(id)
       where not exists (select 1 from claims c where c.id = a.id::uuid)`,
      [JSON.stringify(acceptedIds)],
    );
    return { duplicates: dup.rows[0].n, overIssued, lostClaims: lost.rows[0].n, stock: stock.rows };
  });
}

function printTable(rows) {
  console.log('\n| figure | value | target |\n|---|---|---|');
  for (const [what, value, target] of rows) console.log(`| ${what} | ${value} | ${target} |`);
}

// ---- main ---------------------------------------------------------------------------------------

async function main() {
  const figures = {};
  const rows = [];
  const row = (what, value, target = '') => {
    rows.push([what, value, target]);
    log(`  ${what}: ${value}`);
  };
  const internalSecret = randomBytes(32).toString('hex');
  const admin = { email: 'bench-admin@bench.example', password: randomBytes(12).toString('hex') };
  const authDb = await createDatabase('bench_auth');
  const eventDb = await createDatabase('bench_event');
  const dataDir = mkdtempSync(join(tmpdir(), 'rewards-bench-'));
  const cleanups = [() => authDb.drop(), () => eventDb.drop(), () => rmSync(dataDir, { recursive: true, force: true })];
  let platform;
  let embedded;
  let server;
  try {
    log(`starting the platform on ${new URL(BASE_URL).host} …`);
    platform = await startPlatform({ authDb: authDb.url, eventDb: eventDb.url, internalSecret, admin });
    const gw = platform.gatewayUrl;
    const adminToken = (await expectOk(call(gw, 'POST', '/api/v1/auth/login', { body: admin }), 'admin login'))
      .accessToken;

    log(`seeding ${PLAYERS} players …`);
    const password = 'bench-password-1';
    const passwordHash = await hash(password, { algorithm: ARGON2ID });
    if (process.env.BENCH_LOGINS_ONLY) {
      // The login figures alone (under a minute): for working on the login path.
      await measureLogins(platform, row, { authDb, eventDb, password, passwordHash });
      printTable(rows);
      return;
    }
    const players = await seedPlayers(authDb.url, PLAYERS, 'player', passwordHash);
    const now = Date.now();
    const iso = (ms) => new Date(ms).toISOString();
    await ingest(
      gw,
      adminToken,
      players.map((p) => ({ id: `login-${p.id}`, userId: p.id, type: 'LOGIN', occurredAt: iso(now - 3_600_000) })),
    );
    const window = { startsAt: iso(now - 86_400_000), endsAt: iso(now + 30 * 86_400_000) };
    const unlimited = await createEvents(gw, adminToken, 40, { ...window, condition: { type: 'LOGIN_DAYS', days: 1 } });
    const [limited] = await createEvents(gw, adminToken, 1, {
      ...window,
      condition: { type: 'LOGIN_DAYS', days: 1 },
      stock: 500,
    });
    // Limited stock that does not run out during the run, each claimed once by each player: enough of
    // them for a run as long as the others at up to 3,000 claims/s, taken one after the other.
    const deepStock = await createEvents(gw, adminToken, Math.ceil((DURATION * 3000) / PLAYERS), {
      ...window,
      condition: { type: 'LOGIN_DAYS', days: 1 },
      stock: 100_000,
    });

    // Claims through the gateway on the PostgreSQL server.
    const cursor = { next: 0 };
    const accepted = [];
    const seededRss = { event: rssMb(platform.event.pid), peak: peakRssMb(platform.event.pid) };
    log('warming up …');
    await claimLoad(gw, players, unlimited, cursor, 16, { duration: 2 });
    cursor.next = PLAYERS; // leave the warm-up pairs behind
    for (const connections of [16, 64]) {
      log(`claims, ${connections} connections, ${DURATION}s …`);
      const cpuBefore = cpuSnapshot(services(platform), eventDb.name);
      const r = await claimLoad(gw, players, unlimited, cursor, connections);
      accepted.push(...r.ids);
      const s = summary(r);
      figures[`c${connections}`] = s;
      const c = cpuPer(cpuBefore, cpuSnapshot(services(platform), eventDb.name), s.ok);
      row(
        `claims/s at ${connections} connections (unlimited reward)`,
        `${s.rps} (201: ${s.ok}, p50 ${s.p50} ms, p99 ${s.p99} ms, non-2xx ${s.non2xx}, errors ${s.errors}; ` +
          `CPU ms per claim: gateway ${c.gateway}, event ${c.event}, PostgreSQL ${c.postgres})`,
      );
    }
    // Delivery to a game server: the same load with a webhook subscribed to claim.approved.
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const hook = await call(gw, 'POST', '/api/v1/webhooks', {
      token: adminToken,
      body: { url: receiver.url, events: ['claim.approved'], description: 'bench receiver' },
    });
    if (hook.status === 201) {
      // Keyed claims and deliveries warm up first, as the plain claims did: their first seconds
      // on a cold process ran at about half the rate (one run: about 800/s, p99 140 ms, for 3 s,
      // then about 1,450/s). Their claims are checked with the rest; their deliveries (with those
      // of the claims still in flight when the load stopped) are awaited until none has come for
      // half a second, and then forgotten, so the figures below are the measured run's alone.
      log('warming up with a key on each and the webhook subscribed …');
      const warm = await claimLoad(gw, players, unlimited, cursor, 64, { idempotent: true, duration: 3 });
      accepted.push(...warm.ids);
      let seen = -1;
      let quietSince = Date.now();
      await waitUntil(async () => {
        const n = (await receiver.state()).delivered;
        if (n !== seen) [seen, quietSince] = [n, Date.now()];
        return n >= summary(warm).ok && Date.now() - quietSince >= 500;
      }, 60_000);
      await receiver.reset();
      log(`claims with an Idempotency-Key each and a webhook subscribed, 64 connections, ${DURATION}s …`);
      const cpuBefore = cpuSnapshot(services(platform), eventDb.name);
      const r = await claimLoad(gw, players, unlimited, cursor, 64, { idempotent: true });
      accepted.push(...r.ids);
      const s = summary(r);
      figures.c64webhook = s;
      figures.cpuPerClaim = cpuPer(cpuBefore, cpuSnapshot(services(platform), eventDb.name), s.ok);
      const c = figures.cpuPerClaim;
      row(
        'CPU ms per claim in that run: gateway / event / PostgreSQL / auth / load generator',
        `${c.gateway} / ${c.event} / ${c.postgres} / ${c.auth} / ${c.load}`,
      );
      row(
        'claims/s at 64 connections, Idempotency-Key on each, webhook subscribed (unlimited reward)',
        `${s.rps} (201: ${s.ok}, p50 ${s.p50} ms, p99 ${s.p99} ms, non-2xx ${s.non2xx}, errors ${s.errors})`,
        '≥ 25 % of the bare insert route; p99 ≤ 100 ms',
      );
      row(
        'claims/s with key and webhook / without either',
        `${s.rps} / ${figures.c64.rps} = ${round((100 * s.rps) / figures.c64.rps)} %`,
        '≥ 90 %',
      );
      await waitUntil(async () => (await receiver.state()).delivered >= s.ok, 60_000);
      const received = await receiver.state({ delays: true });
      const delays = received.delays.sort((a, b) => a - b);
      figures.webhookDelayP99 = round(pct(delays, 99), 0);
      row('webhook messages delivered / approved claims', `${received.delivered} / ${s.ok}`);
      row(
        'delay from decision to delivery, p50 / p99',
        `${round(pct(delays, 50), 0)} / ${figures.webhookDelayP99} ms`,
        'p99 ≤ 1 s',
      );
      // As long as the unlimited run: a run of a fixed number of requests ends with fewer than 64 in
      // flight, and came out about a tenth slower for that alone.
      log(`limited stock (100,000 units), one claim per player, 64 connections, ${DURATION}s …`);
      const deep = summary(
        await claimLoad(gw, players, deepStock, { next: 0 }, 64, { idempotent: true }).then((run) => {
          accepted.push(...run.ids);
          return run;
        }),
      );
      figures.c64limited = deep;
      row(
        'claims/s on one limited reward at a time (stock 100,000, each player once), same load / unlimited',
        `${deep.rps} (p99 ${deep.p99} ms, non-2xx ${deep.non2xx}) / ${s.rps} = ${round((100 * deep.rps) / s.rps)} %`,
        '≥ 80 %',
      );
      // Drain rate: a backlog of messages that failed once, delivered when their retry comes due.
      const before = (await receiver.failing(true)).delivered;
      const backlog = await claimLoad(gw, players, unlimited, cursor, 64, { duration: 0, amount: 3000 });
      accepted.push(...backlog.ids);
      const expected = summary(backlog).ok;
      await waitUntil(async () => (await receiver.state()).attempts >= before + expected, 60_000);
      await receiver.failing(false);
      await waitUntil(async () => (await receiver.state()).delivered >= before + expected, 120_000);
      const times = (await receiver.state({ timesFrom: before })).times.sort((a, b) => a - b);
      const drainPerSec = round((times.length - 1) / ((times.at(-1) - times[0]) / 1000), 0);
      figures.webhookDeliveriesPerSec = drainPerSec;
      row(`webhook deliveries/s draining a backlog of ${times.length}`, drainPerSec, '≥ 1,000');
    } else {
      row('webhooks', `not available (${hook.status})`);
    }

    log('limited stock (500 units) raced at 64 connections …');
    const stockRun = await claimLoad(gw, players, [limited], { next: 0 }, 64, {
      duration: 0,
      amount: Math.min(PLAYERS, 2000),
    });
    accepted.push(...stockRun.ids);
    row('limited-stock race: 201 responses by outcome', JSON.stringify(stockRun.statuses));

    const check = await integrity(eventDb.url, accepted);

    const stockRow = check.stock.find((s) => s.stock === 500);
    row('duplicates (pending/approved per player, event, period)', check.duplicates, '0');
    row('over-issued rewards', check.overIssued, '0');
    row('2xx claims missing from the database', check.lostClaims, '0');
    row(
      'limited reward: stock / remaining / granted',
      `${stockRow?.stock} / ${stockRow?.remaining} / ${stockRow?.granted}`,
    );

    log(`SQL ceiling: the claim's statements straight to PostgreSQL, 64 in flight on ${EVENT_POOL} connections …`);
    const ceilingEvents = await createEvents(gw, adminToken, 10, {
      ...window,
      condition: { type: 'LOGIN_DAYS', days: 1 },
    });
    const sql = await sqlCeiling(eventDb.url, eventDb.name, players, ceilingEvents, EVENT_POOL, 64);
    row(
      "SQL ceiling: the claim's facts read and write, with key and webhook, straight to PostgreSQL " +
        `(64 in flight, ${EVENT_POOL} connections)`,
      `${sql.rps} (p99 ${sql.p99} ms; CPU ms per claim: PostgreSQL ${sql.postgresMsPerClaim}, the bench's Node ${sql.nodeMsPerClaim})`,
    );
    log('bare Fastify route doing one insert, 64 connections …');
    const bare = await bareInsertCeiling(eventDb.url, 64);
    row('bare Fastify route with one insert: requests/s', `${bare.rps} (p99 ${bare.p99} ms)`);
    // The headline: claims as a game's players make them, with a key each and a webhook subscribed.
    const e2e = (figures.c64webhook ?? figures.c64).rps;
    row('end-to-end / SQL ceiling', `${round((100 * e2e) / sql.rps)} %`);
    row('end-to-end / bare insert route', `${round((100 * e2e) / bare.rps)} %`, '≥ 25 %');

    const peakRss = () => {
      const rss = {
        gateway: peakRssMb(platform.gateway.pid),
        auth: peakRssMb(platform.auth.pid),
        event: peakRssMb(platform.event.pid),
      };
      row('peak RSS MB: gateway / auth / event', `${rss.gateway} / ${rss.auth} / ${rss.event}`, 'event ≤ 200');
      row(
        'event RSS MB before the claim runs (after seeding) / its peak until then',
        `${seededRss.event} / ${seededRss.peak}`,
      );
      return rss;
    };
    if (process.env.BENCH_CLAIMS_ONLY) {
      // The claim figures alone (about a minute): for working on the claim path.
      peakRss();
      printTable(rows);
      return;
    }

    // One claim at a time: the latency a single player sees, over 1,000 claims.
    log('1,000 claims one at a time …');
    const [singleEvent] = await createEvents(gw, adminToken, 1, {
      ...window,
      condition: { type: 'LOGIN_DAYS', days: 1 },
    });
    const single = [];
    for (let i = 0; i < Math.min(1000, PLAYERS); i++) {
      const t0 = performance.now();
      const res = await call(gw, 'POST', `/api/v1/events/${singleEvent}/claims`, { token: players[i].token });
      single.push(performance.now() - t0);
      if (res.status !== 201) throw new Error(`single claim: ${res.status} ${JSON.stringify(res.body)}`);
      accepted.push(res.body.claim.id);
    }
    single.sort((a, b) => a - b);
    const singleP50 = round(pct(single, 50), 2);
    row(
      `one claim at a time: p50 / p99 over ${single.length} claims`,
      `${singleP50} ms / ${round(pct(single, 99), 2)} ms`,
    );

    // Gateway's added latency: the same read through the gateway and straight to the event service.
    log('gateway added latency …');
    const probe = players[0].token;
    const viaGateway = await load({
      url: `${gw}/api/v1/events/${unlimited[0]}`,
      headers: { authorization: `Bearer ${probe}` },
      connections: 1,
      duration: 5,
    });
    const direct = await load({
      url: `${platform.eventUrl}/api/v1/events/${unlimited[0]}`,
      headers: { authorization: `Bearer ${probe}` },
      connections: 1,
      duration: 5,
    });
    const addedLatency = round(viaGateway.latency.p50 - direct.latency.p50, 2);
    row(
      'gateway added latency (p50, GET /events/{id})',
      `${addedLatency} ms (via gateway ${viaGateway.latency.p50} ms, direct ${direct.latency.p50} ms)`,
    );

    // Claim latency against history size.
    log('claim latency with 10 and with 100,000 activities …');
    const [light, heavy, first] = await seedPlayers(authDb.url, 3, 'history', passwordHash);
    const monthAgo = now - 30 * 86_400_000;
    const historyOf = (player, n) =>
      Array.from({ length: n }, (_, i) => ({
        id: `h-${player.id}-${i}`,
        userId: player.id,
        type: i % 2 === 0 ? 'LOGIN' : 'QUEST_CLEARED',
        occurredAt: iso(monthAgo + Math.floor(((i + 0.5) / n) * 30 * 86_400_000)),
        value: 1,
      }));
    await ingest(gw, adminToken, historyOf(light, 10));
    await ingest(gw, adminToken, historyOf(first, 10));
    await ingest(gw, adminToken, historyOf(heavy, 100_000));
    const historyEvents = await createEvents(gw, adminToken, 150, {
      startsAt: iso(monthAgo - 86_400_000),
      endsAt: iso(now + 86_400_000),
      condition: {
        type: 'ALL',
        of: [
          { type: 'LOGIN_DAYS', days: 3 },
          { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 5 },
        ],
      },
    });
    const timings = { light: [], heavy: [], first: [] };
    // The first claim on an event also reads its definition (then cached): a third player, with 10
    // activities, claims first and is not counted, so both measured claims find it cached.
    for (const eventId of historyEvents) {
      for (const [name, p] of [
        ['first', first],
        ['light', light],
        ['heavy', heavy],
      ]) {
        const t0 = performance.now();
        const res = await call(gw, 'POST', `/api/v1/events/${eventId}/claims`, { token: p.token });
        timings[name].push(performance.now() - t0);
        if (res.status !== 201 || res.body.claim.status !== 'APPROVED')
          throw new Error(`history claim: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    const p50Light = round(
      pct(
        timings.light.sort((a, b) => a - b),
        50,
      ),
      2,
    );
    const p50Heavy = round(
      pct(
        timings.heavy.sort((a, b) => a - b),
        50,
      ),
      2,
    );
    row('claim p50 with 10 activities', `${p50Light} ms`);
    row(
      'claim p50 with 100,000 activities',
      `${p50Heavy} ms (${round((100 * (p50Heavy - p50Light)) / p50Light)} %)`,
      'within 10 %',
    );

    const {
      loginsPerSec,
      hashesPerSec,
      poolMsPerHash,
      bare: bareLogin,
    } = await measureLogins(platform, row, {
      authDb,
      eventDb,
      password,
      passwordHash,
    });

    // History queries over a million claims.
    log(`filling the claims table to ${HISTORY_CLAIMS} rows …`);
    await withClient(eventDb.url, async (c) => {
      const {
        rows: [{ n }],
      } = await c.query('select count(*)::int as n from claims');
      const missing = Math.max(0, HISTORY_CLAIMS - n);
      const ids = JSON.stringify(players.slice(0, 1000).map((p) => p.id));
      for (let done = 0; done < missing; done += 100_000) {
        await c.query(
          `insert into claims (id, user_id, event_id, period_key, status, reason, rewards, created_at, decided_at, decided_by)
           select gen_random_uuid(), ($1::jsonb ->> (g % 1000))::uuid, ($2::jsonb ->> (g % 40))::uuid, 'ONCE', 'REJECTED',
                  'CONDITION_NOT_MET', '[]'::jsonb, now() - make_interval(secs => g % 2592000), now(), 'system'
           from generate_series(1, $3) g`,
          [ids, JSON.stringify(unlimited), Math.min(100_000, missing - done)],
        );
      }
      await c.query('analyze claims');
    });
    const queries = {
      'all, newest first': '/api/v1/claims?limit=20',
      'by player': `/api/v1/claims?limit=20&userId=${players[1].id}`,
      'by event and status': `/api/v1/claims?limit=20&eventId=${unlimited[1]}&status=REJECTED`,
      'by time range': `/api/v1/claims?limit=20&from=${iso(now - 10 * 86_400_000)}&to=${iso(now - 9 * 86_400_000)}`,
    };
    let historyP95 = 0;
    for (const [name, path] of Object.entries(queries)) {
      const times = [];
      let cursorParam = '';
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        const res = await call(gw, 'GET', `${path}${cursorParam}`, { token: adminToken });
        times.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`history query ${name}: ${res.status}`);
        cursorParam = res.body.nextCursor && i % 10 !== 9 ? `&cursor=${res.body.nextCursor}` : '';
      }
      const p95 = round(
        pct(
          times.sort((a, b) => a - b),
          95,
        ),
        2,
      );
      historyP95 = Math.max(historyP95, p95);
      row(`history p95, ${name} (1M claims)`, `${p95} ms`, '≤ 20 ms');
    }

    // The default engine: the embedded PostgreSQL server `pnpm start` runs, with both services on it.
    log('claims on the embedded PostgreSQL server (the default of pnpm start) …');
    server = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
    await server.ensureDatabases(['auth', 'event']);
    const postmaster = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    embedded = await startPlatform({
      authDb: server.url('auth'),
      eventDb: server.url('event'),
      internalSecret,
      admin: { ...admin },
      eventPool: null,
    });
    const stackMb = () => {
      const services = [embedded.gateway, embedded.auth, embedded.event].map((p) => rssMb(p.pid) ?? 0);
      return { services: services.reduce((a, b) => a + b, 0), server: serverPssMb(postmaster) };
    };
    const idle = stackMb();
    row(
      'memory of the default stack idle after start, MB: services (RSS) + embedded server (PSS)',
      `${idle.services} + ${idle.server} = ${idle.services + idle.server}`,
      '≤ 700',
    );
    const egw = embedded.gatewayUrl;
    const eAdmin = (await expectOk(call(egw, 'POST', '/api/v1/auth/login', { body: admin }), 'admin login'))
      .accessToken;
    const ePlayers = await seedPlayers(server.url('auth'), PLAYERS, 'player', passwordHash);
    await ingest(
      egw,
      eAdmin,
      ePlayers.map((p) => ({ id: `login-${p.id}`, userId: p.id, type: 'LOGIN', occurredAt: iso(now - 3_600_000) })),
    );
    const [warmEvent, ...embeddedEvents] = await createEvents(egw, eAdmin, 11, {
      ...window,
      condition: { type: 'LOGIN_DAYS', days: 1 },
    });
    // Warm as the server's measured run was: by then every player had claimed before, so both
    // services held each player's verified token (a first request pays its ES256 check twice). One
    // claim per player, on an event of its own.
    await claimLoad(egw, ePlayers, [warmEvent], { next: 0 }, 64, { duration: 0, amount: PLAYERS });
    let loaded = { services: 0, server: 0 };
    const sampler = setInterval(() => {
      const now = stackMb();
      if (now.services + now.server > loaded.services + loaded.server) loaded = now;
    }, 500);
    const onEmbedded = summary(await claimLoad(egw, ePlayers, embeddedEvents, { next: PLAYERS }, 64));
    clearInterval(sampler);
    row(
      'claims/s on the embedded server (64 connections) / on the PostgreSQL server',
      `${onEmbedded.rps} (p99 ${onEmbedded.p99} ms, non-2xx ${onEmbedded.non2xx}) / ${figures.c64.rps} = ${Math.round((100 * onEmbedded.rps) / figures.c64.rps)} %`,
      '≥ 90 %',
    );
    row(
      'memory of the default stack under load, MB: services (RSS) + embedded server (PSS)',
      `${loaded.services} + ${loaded.server} = ${loaded.services + loaded.server}`,
      '≤ 700',
    );

    const rss = peakRss();

    const result = {
      claimsPerSec: e2e,
      claimsPerSecPlain: figures.c64.rps,
      claimsPerSec16: figures.c16.rps,
      claimsPerSecWithWebhook: figures.c64webhook?.rps ?? null,
      limitedClaimsPerSec: figures.c64limited?.rps ?? null,
      limitedToUnlimited: figures.c64limited ? round(figures.c64limited.rps / e2e, 3) : null,
      webhookDelayP99Ms: figures.webhookDelayP99 ?? null,
      webhookDeliveriesPerSec: figures.webhookDeliveriesPerSec ?? null,
      sqlCeilingPerSec: sql.rps,
      bareInsertPerSec: bare.rps,
      ratioToSqlCeiling: round(e2e / sql.rps, 3),
      ratioToBareInsert: round(e2e / bare.rps, 3),
      p50Ms: (figures.c64webhook ?? figures.c64).p50,
      singleClaimP50Ms: singleP50,
      p99Ms: (figures.c64webhook ?? figures.c64).p99,
      cpuMsPerClaim: figures.cpuPerClaim ?? null,
      duplicates: check.duplicates,
      overIssued: check.overIssued,
      lostClaims: check.lostClaims,
      embeddedClaimsPerSec: onEmbedded.rps,
      embeddedP99Ms: onEmbedded.p99,
      embeddedToServer: round(onEmbedded.rps / figures.c64.rps, 3),
      defaultStackMb: { idle, loaded },
      loginsPerSec,
      argon2HashesPerSec: hashesPerSec,
      argon2PoolMsPerHash: poolMsPerHash,
      bareVerifyRoutePerSec: bareLogin.verify.rps,
      bareLoginRoutePerSec: bareLogin.login.rps,
      gatewayAddedLatencyMs: addedLatency,
      claimP50Ms10Activities: p50Light,
      claimP50Ms100kActivities: p50Heavy,
      historyP95Ms: historyP95,
      peakRssMb: rss,
    };
    printTable(rows);
    console.log(JSON.stringify(result));
  } catch (err) {
    log(String(err?.stack ?? err));
    for (const p of [platform, embedded].filter(Boolean)) {
      for (const name of ['auth', 'event', 'gateway']) log(`--- ${name}\n${p[name].lines.slice(-15).join('\n')}`);
    }
    throw err;
  } finally {
    for (const p of [embedded, platform].filter(Boolean))
      await Promise.all([p.gateway, p.event, p.auth].map(stopService));
    if (server) await server.stop();
    for (const c of cleanups)
      await Promise.resolve()
        .then(c)
        .catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
