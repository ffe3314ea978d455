import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFreshDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { executePrepared, rowsOf } from '../../src/database.js';

describe(executePrepared.name, () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await openFreshDatabase('prepared');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const prepared = (rows: unknown) =>
    rowsOf<{ statement: string }>(rows).filter((r) => r.statement.includes('generate_series($1::int'));

  it('runs a statement with its values, prepared once per connection under a name taken from its text', async () => {
    const { db } = t.database;
    const count = (n: number) =>
      executePrepared(db, sql`select count(*)::int as n from generate_series(${n}::int, 10) g`).then(
        (r) => rowsOf<{ n: number }>(r)[0]!.n,
      );
    await db.transaction(async (tx) => {
      const first = await executePrepared(tx, sql`select count(*)::int as n from generate_series(${1}::int, 10) g`);
      const second = await executePrepared(tx, sql`select count(*)::int as n from generate_series(${4}::int, 10) g`);
      expect([rowsOf<{ n: number }>(first)[0]!.n, rowsOf<{ n: number }>(second)[0]!.n]).toEqual([10, 7]);
      // On this connection: one prepared statement for both calls, named by its text, not its values.
      const mine = prepared(await tx.execute(sql`select name, statement from pg_prepared_statements`));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ name: expect.stringMatching(/^p_[A-Za-z0-9_-]{22}$/) });
    });
    expect(await count(9)).toBe(2);
  });

  it('fails a bad statement with the database error and leaves the connection usable', async () => {
    const { db } = t.database;
    await expect(executePrepared(db, sql`select 1 / ${0}::int`)).rejects.toMatchObject({
      cause: expect.objectContaining({ code: '22012' }),
    });
    expect(rowsOf(await executePrepared(db, sql`select ${2}::int as two`))).toEqual([{ two: 2 }]);
  });
});
