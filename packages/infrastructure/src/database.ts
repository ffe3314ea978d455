import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgDialect, PgQueryResultHKT, PgSession } from 'drizzle-orm/pg-core';
import pg from 'pg';
import type { Logger } from 'pino';

/** The Drizzle database (and its transactions) every repository takes. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** The Nest token of a service's `Database`. */
export const DATABASE = Symbol('DATABASE');

export interface Database {
  readonly db: Db;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** The service's PostgreSQL database (`postgres://…`). */
  url: string;
  poolSize?: number;
  logger: Logger;
}

/** Rows of a raw `db.execute(sql…)` result. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

/**
 * A raw statement as a named prepared statement: each connection parses and plans it once, not on
 * every call (for the claim path's statements, planning cost about as much as running them). The
 * name is a digest of the text, so it suits statements whose text takes few shapes, their values
 * all parameters. Works on the database and on a transaction alike.
 */
export function executePrepared(db: Db, query: SQL): Promise<unknown> {
  // Drizzle's own `execute`, with a statement name (it passes none).
  const { dialect, session } = db as unknown as { dialect: PgDialect; session: PgSession };
  const built = dialect.sqlToQuery(query);
  const name = `p_${createHash('sha1').update(built.sql).digest('base64url').slice(0, 22)}`;
  return session.prepareQuery(built, undefined, name, false).execute();
}

/** A timestamp column of a raw row: a Date from node-postgres, a string when it came through JSON. */
export const asDate = (v: unknown): Date => (v instanceof Date ? v : new Date(String(v)));

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return openPostgres(opts.url, opts.poolSize ?? 10, opts.logger);
}

/** Opening one connection to the server: past this, the server counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 3000;
/**
 * Waiting for a free pooled connection while the pool is busy. Longer than the gateway's upstream
 * budget (UPSTREAM_TIMEOUT_MS, 5 s), so a burst on a healthy database queues instead of failing as
 * "database unavailable"; the caller bounds its own wait.
 */
const ACQUIRE_TIMEOUT_MS = 30_000;

/** pg-pool applies its `connectionTimeoutMillis` to both waits; the client's own bounds the connect alone. */
class BoundedConnectClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super({
      ...(typeof config === 'string' ? { connectionString: config } : config),
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
  }
}

function openPostgres(url: string, max: number, logger: Logger): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    Client: BoundedConnectClient,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', (err) => logger.warn({ err: { message: err.message } }, 'idle database connection lost'));
  // Nor may a checked-out one: the pool listens only while a client is idle, and a transaction holds
  // its client between statements, when a terminated connection arrives as an 'error' event with no
  // listener (which throws). Its next statement fails as unavailable and the pool drops it on release.
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.debug({ err: { message: err.message } }, 'database connection lost'));
  });
  releaseLostClients(pool);
  const db = drizzlePg(pool) as unknown as Db;
  return {
    db,
    ping: async () => {
      await pool.query('select 1');
    },
    close: () => pool.end(),
  };
}

/**
 * Drizzle takes a client for each transaction (`pool.connect()` without a callback) and releases
 * it in a `finally` that only starts after `begin` succeeded: when the connection is already gone,
 * `begin` throws and the client is never released. Each such transaction kept one pool slot until
 * none were left, and every later query waited out the connect timeout (503 for good after a
 * database restart). A client whose connection ends while checked out now goes back to the pool
 * at once (which discards it), and a second release is ignored.
 */
function releaseLostClients(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as (cb?: unknown) => unknown;
  pool.connect = ((cb?: unknown) => {
    if (cb) return connect(cb);
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      const release = client.release.bind(client);
      let released = false;
      const once = (err?: Error | boolean) => {
        if (released) return;
        released = true;
        client.removeListener('end', lost);
        release(err);
      };
      const lost = () => once(new Error('database connection lost'));
      client.once('end', lost);
      client.release = once;
      return client;
    });
  }) as typeof pool.connect;
}

/**
 * Applies `*.sql` files from `dir` in name order, each once, inside one transaction holding an
 * advisory lock, so several instances booting at once on one database apply them exactly once.
 * Statements within a file are separated by `--> statement-breakpoint` lines.
 */
export async function migrate(db: Db, dir: string, lockName: string, logger: Logger): Promise<string[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`migrate:${lockName}`}))`);
    await tx.execute(
      sql`create table if not exists schema_migrations (name text primary key, applied_at timestamptz not null default now())`,
    );
    const done = new Set(
      rowsOf<{ name: string }>(await tx.execute(sql`select name from schema_migrations`)).map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const statements = readFileSync(join(dir, file), 'utf8')
        .split(/^--> statement-breakpoint$/m)
        .map((s) => s.trim())
        .filter(Boolean);
      for (const statement of statements) await tx.execute(sql.raw(statement));
      await tx.execute(sql`insert into schema_migrations (name) values (${file})`);
      applied.push(file);
    }
  });
  if (applied.length) logger.info({ applied }, 'migrations applied');
  return applied;
}
