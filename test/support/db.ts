import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { Stack } from './stack.js';

export interface ServiceDb {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Every row of every table in the public schema, keyed by table name. */
  dump(): Promise<Record<string, Record<string, unknown>[]>>;
  close(): Promise<void>;
}

/**
 * Opens a service's own database from a test. On PostgreSQL this works at any time; an embedded
 * (PGlite) database must not be opened while its service runs, so stop the service first.
 */
export async function openServiceDb(stack: Stack, service: 'auth' | 'event'): Promise<ServiceDb> {
  let query: ServiceDb['query'];
  let close: () => Promise<void>;
  const url = stack.databaseUrls[service];
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    query = async (text, params) => (await client.query(text, params)).rows;
    close = () => client.end();
  } else {
    const db = new PGlite(`${stack.dataDir}/${service}`);
    await db.waitReady;
    query = async <T>(text: string, params?: unknown[]) => (await db.query<T>(text, params)).rows;
    close = () => db.close();
  }
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
