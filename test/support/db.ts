import pg from 'pg';
import type { Stack } from './stack.js';

export interface ServiceDb {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Every row of every table in the public schema, keyed by table name. */
  dump(): Promise<Record<string, Record<string, unknown>[]>>;
  close(): Promise<void>;
}

/** Opens a service's own database from a test (the services may keep running). */
export async function openServiceDb(stack: Stack, service: 'auth' | 'event'): Promise<ServiceDb> {
  const client = new pg.Client({ connectionString: stack.databaseUrls[service] });
  await client.connect();
  const query: ServiceDb['query'] = async (text, params) => (await client.query(text, params)).rows;
  const close = () => client.end();
  const dump = async () => {
    const tables = await query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
    );
    const out: Record<string, Record<string, unknown>[]> = {};
    for (const { table_name } of tables) out[table_name] = await query(`select * from "${table_name}"`);
    return out;
  };
  return { query, dump, close };
}

/** Runs `fn` on a service's own database and closes the connection afterwards. */
export async function withServiceDb<T>(
  stack: Stack,
  service: 'auth' | 'event',
  fn: (db: ServiceDb) => Promise<T>,
): Promise<T> {
  const db = await openServiceDb(stack, service);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
