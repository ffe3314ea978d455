import { AppError } from './errors.js';

/** An id PostgreSQL reads as a uuid: anything else would fail the page's query instead of the cursor. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Keyset position `(timestamp, id)` carried between pages as an opaque string. */
export interface Position {
  at: Date;
  id: string;
}

export const encodeCursor = (p: Position): string =>
  Buffer.from(JSON.stringify([p.at.toISOString(), p.id])).toString('base64url');

export function decodeCursor(raw: string): Position {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, 'base64url').toString()) as [string, string];
    const date = new Date(at);
    if (typeof id !== 'string' || !UUID.test(id) || Number.isNaN(date.getTime())) throw new Error('bad cursor');
    return { at: date, id };
  } catch {
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
      { path: 'cursor', code: 'invalid', message: 'Unknown cursor' },
    ]);
  }
}

/** Cuts a `limit + 1` result to one page and the cursor of the next, if any. */
export function toPage<R, T>(rows: R[], limit: number, position: (row: R) => Position, map: (row: R) => T) {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encodeCursor(position(last)) : null };
}
