import { decodeCursor } from '@rewards/infrastructure';
import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

/**
 * Keyset paging, newest first on `(at, id)`: the rows after the cursor's position, i.e.
 * `(at, id) < (cursor.at, cursor.id)`. Unlike an offset, pages never overlap or skip while rows
 * arrive. Undefined (no condition) on the first page; an unreadable cursor is a validation error.
 * The query orders by `at desc, id desc` to match.
 */
export function afterCursor(at: PgColumn, id: PgColumn, cursor: string | undefined): SQL | undefined {
  if (!cursor) return undefined;
  const after = decodeCursor(cursor);
  return or(lt(at, after.at), and(eq(at, after.at), lt(id, after.id)));
}
