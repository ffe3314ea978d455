// Starting the platform's services as child processes from the built output, for tools that
// need them (the benchmark). The test suite has its own harness in test/support/stack.ts.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from './service-env.mjs';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export async function waitReady(url, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${url}`);
}

/** Spawns `apps/<app>/dist/main.js`; its output is kept (last 200 lines) for error reports. */
export function spawnService(app, env) {
  // BENCH_CPU_PROF=<dir> writes a CPU profile of each service there when it stops.
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${app}-${Date.now()}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...profile, `apps/${app}/dist/main.js`], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      ...serviceEnv(app),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.lines = [];
  const keep = (chunk) => {
    child.lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (child.lines.length > 200) child.lines.splice(0, child.lines.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return child;
}

export function stopService(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Peak resident set size of a live process, in MB (Linux VmHWM). */
export function peakRssMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** CPU time a live process has used so far (user + system), in ms (Linux /proc/<pid>/stat, 100 ticks/s). */
export function cpuMs(pid) {
  try {
    return statCpuMs(`/proc/${pid}/stat`);
  } catch {
    return 0;
  }
}

/** User and system CPU in ms from a `stat` file of /proc (a process's or one of its threads'). */
function statCpuMs(path) {
  // The fields after the command name, which may itself hold spaces and parentheses.
  const fields = readFileSync(path, 'utf8').split(') ').at(-1).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU used so far by each thread of process `pid`, in ms: thread id → ms. */
export function threadCpuMs(pid) {
  const threads = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      threads.set(tid, statCpuMs(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended
    }
  }
  return threads;
}

/**
 * Splits the CPU threads used between two `threadCpuMs` readings: the `n` busiest, and the rest. Under
 * a load of password checks the busiest are libuv's pool, where argon2id runs.
 */
export function busiestThreadsMs(before, after, n) {
  const used = [...after].map(([tid, ms]) => ms - (before.get(tid) ?? 0)).sort((a, b) => b - a);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return { busiest: sum(used.slice(0, n)), rest: sum(used.slice(n)) };
}

/** The PostgreSQL backends serving database `name` on this machine (their titles name it). */
export function backendsOf(name) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (title.startsWith('postgres: ') && title.includes(` ${name} `)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Current resident set size of a live process, in MB (Linux VmRSS). */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * Memory of a PostgreSQL server: the proportional set size (Linux Pss) of the postmaster and every
 * backend it forked, in MB. Pss shares the shared buffers out among the processes mapping them,
 * where adding up their RSS would count them once per backend.
 */
export function serverPssMb(postmasterPid) {
  const pids = [postmasterPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // gone meanwhile
    }
  }
  return Math.round(kb / 1024);
}
