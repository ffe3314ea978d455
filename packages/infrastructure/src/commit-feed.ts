import { type SQL, sql } from 'drizzle-orm';
import { type Db, rowsOf } from './database.js';

/**
 * What a snapshot says of the transactions that had not committed when it was taken: every one at or
 * past `xmax`, and those in `running` (below `xmax`, still running then). A row of any other
 * transaction that a later statement sees was committed when the snapshot was taken.
 */
export interface Horizon {
  xmax: bigint;
  running: bigint[];
}

/** A row's place in a commit feed: (id of the transaction that wrote it, its sequence). */
export type FeedPlace = readonly [tx: bigint, seq: bigint];

/**
 * Where a reader of a commit feed stands: it has every row committed by `seen` (none when null),
 * and of the other rows those at or before `after` (none when null) that were committed by `paging`
 * (or by any time, when `paging` is null). `paging` is set between the pages of one snapshot.
 */
export interface CommitFeedCursor {
  seen: Horizon | null;
  paging: Horizon | null;
  after: FeedPlace | null;
}

export const FEED_START: CommitFeedCursor = { seen: null, paging: null, after: null };

/**
 * More running transactions than a server runs at once (each holds a connection; the default is 100
 * connections): a cursor naming more was not made here. A horizon costs about 5 characters per running
 * transaction, so a paging cursor with two such lists stays within the 8,192 its readers accept.
 */
const MAX_RUNNING = 700;
const DECIMAL = /^(0|[1-9][0-9]{0,18})$/;
const INT8_MAX = 2n ** 63n - 1n;

const int8 = (v: unknown): bigint | undefined =>
  typeof v === 'string' && DECIMAL.test(v) && BigInt(v) <= INT8_MAX ? BigInt(v) : undefined;

// A horizon travels as [xmax, [gap, ...]], its running ids from the newest down, each as its distance
// from the one before (the first from xmax): they cluster just below xmax, so the gaps are short.
function horizonJson(h: Horizon | null) {
  if (!h) return null;
  const gaps: number[] = [];
  let prev = h.xmax;
  for (const x of [...h.running].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))) {
    gaps.push(Number(prev - x));
    prev = x;
  }
  return [String(h.xmax), gaps];
}

function horizonOf(v: unknown): Horizon | null | undefined {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length !== 2 || !Array.isArray(v[1]) || v[1].length > MAX_RUNNING) return undefined;
  const xmax = int8(v[0]);
  if (xmax === undefined) return undefined;
  const running: bigint[] = [];
  let prev = xmax;
  for (const gap of v[1]) {
    if (!Number.isSafeInteger(gap) || gap < 1 || BigInt(gap) > prev) return undefined;
    prev -= BigInt(gap);
    running.push(prev);
  }
  return { xmax, running };
}

/** The cursor as an opaque string (base64url of JSON). */
export function encodeCommitFeedCursor(c: CommitFeedCursor): string {
  const after = c.after ? c.after.map(String) : null;
  return Buffer.from(JSON.stringify([horizonJson(c.seen), horizonJson(c.paging), after])).toString('base64url');
}

/** The JSON a base64url cursor carries, or undefined when it carries none. */
export function feedCursorJson(raw: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString());
  } catch {
    return undefined;
  }
}

/** A place as a cursor carries it, `[tx, seq]` in decimal strings, or undefined for anything else. */
export function feedPlaceOf(v: unknown): FeedPlace | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const [tx, seq] = [int8(v[0]), int8(v[1])];
  return tx === undefined || seq === undefined ? undefined : [tx, seq];
}

/** A cursor `encodeCommitFeedCursor` made, or undefined for anything else. */
export function decodeCommitFeedCursor(raw: string): CommitFeedCursor | undefined {
  const content = feedCursorJson(raw);
  if (!Array.isArray(content) || content.length !== 3) return undefined;
  const seen = horizonOf(content[0]);
  const paging = horizonOf(content[1]);
  const after = content[2] === null ? null : feedPlaceOf(content[2]);
  if (seen === undefined || paging === undefined || after === undefined) return undefined;
  return { seen, paging, after };
}

/** The horizon of the snapshot the statement runs in. */
async function currentHorizon(db: Db): Promise<Horizon> {
  const [row] = rowsOf<{ xmax: string; running: string[] }>(
    await db.execute(sql`
      select pg_snapshot_xmax(s)::text as xmax, array(select pg_snapshot_xip(s)::text) as running
      from pg_current_snapshot() s`),
  );
  return { xmax: BigInt(row!.xmax), running: row!.running.map(BigInt) };
}

const idList = (ids: bigint[]) => sql`${`{${ids.join(',')}}`}::bigint[]`;

export interface CommitFeedQuery {
  /** The table, or any from-item. */
  from: SQL;
  /** The columns each row carries (the select list), none named feed_tx or feed_seq. */
  columns: SQL;
  /** The column holding the id of the transaction that wrote the row (`pg_current_xact_id()`, as bigint). */
  tx: SQL;
  /** A column ordering the rows of one transaction. */
  seq: SQL;
  /** Which rows the feed carries, if not all. */
  where?: SQL;
}

/**
 * A page of a feed of rows in the order their transactions became visible, every committed row
 * exactly once to a reader that passes each `next` back, however long another transaction runs.
 *
 * Each read takes the current snapshot's horizon and returns the rows it shows that the reader's
 * `seen` horizon did not (written by a transaction at or past its xmax, or running then), in
 * (transaction, sequence) order: so a transaction that commits late is read after the ones that
 * committed before it, and a running one holds nothing back. A page with more after it pages on within
 * the same snapshot; the page after which nothing is left makes its snapshot the reader's `seen`.
 * An index on (tx, seq), and on (filter column, tx, seq) for a `where`, serves both branches of the
 * read: rows past the horizon, and rows of the transactions it named running.
 */
export async function readCommitFeed<R extends Record<string, unknown>>(
  db: Db,
  q: CommitFeedQuery,
  cursor: CommitFeedCursor,
  limit: number,
): Promise<{ rows: (R & { feed_tx: string; feed_seq: string })[]; next: CommitFeedCursor }> {
  const now = await currentHorizon(db);
  // Transaction ids only grow: a horizon past the server's own comes from another server.
  if ((cursor.seen && cursor.seen.xmax > now.xmax) || (cursor.paging && cursor.paging.xmax > now.xmax)) {
    throw new ForeignFeedCursor();
  }
  const upTo = cursor.paging ?? now;
  const conditions: SQL[] = [
    sql`${q.tx} < ${String(upTo.xmax)}::bigint`,
    ...(upTo.running.length > 0 ? [sql`${q.tx} <> all(${idList(upTo.running)})`] : []),
    ...(cursor.after
      ? [sql`(${q.tx}, ${q.seq}) > (${String(cursor.after[0])}::bigint, ${String(cursor.after[1])}::bigint)`]
      : []),
    ...(q.where ? [q.where] : []),
  ];
  const where = (extra: SQL) => sql.join([...conditions, extra], sql` and `);
  // One row past the page tells whether another page follows.
  const take = limit + 1;
  const select = sql`${q.columns}, ${q.tx}::text as feed_tx, ${q.seq}::text as feed_seq from ${q.from}`;
  const { seen } = cursor;
  const branches = [
    sql`(select ${select} where ${where(seen ? sql`${q.tx} >= ${String(seen.xmax)}::bigint` : sql`true`)}
         order by ${q.tx}, ${q.seq} limit ${take}::int)`,
  ];
  if (seen && seen.running.length > 0) {
    // The transactions the reader's horizon saw running: one index probe each.
    branches.push(sql`(select r.* from unnest(${idList(seen.running)}) as running(tx)
      cross join lateral (select ${select} where ${where(sql`${q.tx} = running.tx`)}
                          order by ${q.seq} limit ${take}::int) r)`);
  }
  const found = rowsOf<R & { feed_tx: string; feed_seq: string }>(
    await db.execute(sql`
      select * from (${sql.join(branches, sql` union all `)}) f
      order by f.feed_tx::bigint, f.feed_seq::bigint limit ${take}::int`),
  );
  const rows = found.slice(0, limit);
  const last = rows.at(-1);
  const next: CommitFeedCursor =
    found.length > limit && last
      ? { seen, paging: upTo, after: [BigInt(last.feed_tx), BigInt(last.feed_seq)] }
      : { seen: upTo, paging: null, after: null };
  return { rows, next };
}

/** A cursor whose horizon lies past this server's: it was handed out by another database server. */
export class ForeignFeedCursor extends Error {
  constructor() {
    super('the feed position comes from another database server');
  }
}
