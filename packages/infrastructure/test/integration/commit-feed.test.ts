import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFreshDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import {
  type CommitFeedCursor,
  decodeCommitFeedCursor,
  encodeCommitFeedCursor,
  FEED_START,
  ForeignFeedCursor,
  readCommitFeed,
} from '../../src/commit-feed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(readCommitFeed.name, () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openFreshDatabase('commit_feed');
    await t.database.db.execute(sql`
      create table feed_rows (
        seq bigserial primary key,
        tx_id bigint not null default (pg_current_xact_id()::text::bigint),
        tag text not null,
        owner text not null default 'a')`);
    await t.database.db.execute(sql`create index on feed_rows (tx_id, seq)`);
    await t.database.db.execute(sql`create index on feed_rows (owner, tx_id, seq)`);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const db = () => t.database.db;
  const query = (owner?: string) => ({
    from: sql`feed_rows`,
    columns: sql`tag`,
    tx: sql`tx_id`,
    seq: sql`seq`,
    where: owner ? sql`owner = ${owner}` : undefined,
  });
  const insert = (...tags: string[]) =>
    db().transaction(async (tx) => {
      for (const tag of tags) await tx.execute(sql`insert into feed_rows (tag) values (${tag})`);
    });
  /** A transaction that has written `tag` and stays open until `finish` is called. */
  function openWriter(tag: string) {
    let finish!: (commit: boolean) => void;
    const decided = new Promise<boolean>((r) => (finish = r));
    let written!: () => void;
    const wrote = new Promise<void>((r) => (written = r));
    const done = db()
      .transaction(async (tx) => {
        await tx.execute(sql`insert into feed_rows (tag) values (${tag})`);
        written();
        if (!(await decided)) tx.rollback();
      })
      .catch(() => undefined);
    return {
      wrote,
      finish: async (commit: boolean) => {
        finish(commit);
        await done;
      },
    };
  }
  /** Reads from `cursor` until a page comes back short; the tags read and where the reader ends. */
  async function drain(cursor: CommitFeedCursor, limit = 50, owner?: string) {
    const tags: string[] = [];
    let at = cursor;
    for (;;) {
      const page = await readCommitFeed<{ tag: string }>(db(), query(owner), at, limit);
      tags.push(...page.rows.map((r) => r.tag));
      at = page.next;
      if (page.rows.length < limit) return { tags, at };
    }
  }
  const mine = (prefix: string, tags: string[]) => tags.filter((s) => s.startsWith(prefix));

  it('returns each committed row once, in the order of the transactions that wrote them', async () => {
    const p = `order-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    await insert(`${p}1`, `${p}2`);
    await insert(`${p}3`);

    const first = await drain(at);
    const second = await drain(first.at);

    expect(mine(p, first.tags)).toEqual([`${p}1`, `${p}2`, `${p}3`]);
    expect(second.tags).toEqual([]);
  });

  it('delivers later commits while an older transaction stays open, and its rows once it commits', async () => {
    const p = `late-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    const slow = openWriter(`${p}slow`);
    await slow.wrote;
    await insert(`${p}quick`);

    const whileOpen = await drain(at);
    const again = await drain(whileOpen.at);
    await slow.finish(true);
    const afterCommit = await drain(again.at);
    const afterThat = await drain(afterCommit.at);

    expect(mine(p, whileOpen.tags)).toEqual([`${p}quick`]);
    expect(again.tags).toEqual([]);
    expect(mine(p, afterCommit.tags)).toEqual([`${p}slow`]);
    expect(afterThat.tags).toEqual([]);
  });

  it('pages past more rows than a page holds while an older transaction stays open', async () => {
    const p = `paged-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    const slow = openWriter(`${p}slow`);
    await slow.wrote;
    for (let i = 0; i < 7; i++) await insert(`${p}${i}`);

    const { tags, at: end } = await drain(at, 2);
    await insert(`${p}7`);
    const next = await drain(end, 2);
    await slow.finish(true);
    const last = await drain(next.at, 2);

    expect(mine(p, tags)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `${p}${i}`));
    expect(mine(p, next.tags)).toEqual([`${p}7`]);
    expect(mine(p, last.tags)).toEqual([`${p}slow`]);
  });

  it('keeps to one snapshot across the pages of a backlog: a commit between pages comes after the backlog', async () => {
    const p = `between-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    const slow = openWriter(`${p}slow`);
    await slow.wrote;
    for (let i = 0; i < 4; i++) await insert(`${p}${i}`);

    const page1 = await readCommitFeed<{ tag: string }>(db(), query(), at, 2);
    await slow.finish(true);
    const page2 = await readCommitFeed<{ tag: string }>(db(), query(), page1.next, 2);
    const after = await drain(page2.next, 2);
    const tags = (page: { rows: { tag: string }[] }) =>
      mine(
        p,
        page.rows.map((r) => r.tag),
      );

    expect(tags(page1)).toEqual([`${p}0`, `${p}1`]);
    expect(page1.next.paging).not.toBeNull();
    expect(tags(page2)).toEqual([`${p}2`, `${p}3`]);
    expect(mine(p, after.tags)).toEqual([`${p}slow`]);
  });

  it('ends a backlog of exactly a page in a cursor that sees later commits', async () => {
    const p = `exact-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    await insert(`${p}1`);
    await insert(`${p}2`);

    const page = await readCommitFeed<{ tag: string }>(db(), query(), at, 2);
    await insert(`${p}3`);
    const next = await readCommitFeed<{ tag: string }>(db(), query(), page.next, 2);

    expect(
      mine(
        p,
        page.rows.map((r) => r.tag),
      ),
    ).toEqual([`${p}1`, `${p}2`]);
    expect(page.next.paging).toBeNull();
    expect(
      mine(
        p,
        next.rows.map((r) => r.tag),
      ),
    ).toEqual([`${p}3`]);
  });

  it("refuses a cursor whose horizon lies past the server's (one from another server)", async () => {
    const { at } = await drain(FEED_START);
    const ahead = { xmax: at.seen!.xmax + 1_000_000n, running: [] };

    await expect(readCommitFeed(db(), query(), { ...at, seen: ahead }, 5)).rejects.toBeInstanceOf(ForeignFeedCursor);
    await expect(
      readCommitFeed(db(), query(), { seen: null, paging: ahead, after: [1n, 1n] }, 5),
    ).rejects.toBeInstanceOf(ForeignFeedCursor);
  });

  it('never returns the rows of a transaction that rolled back', async () => {
    const p = `rollback-${randomUUID()}:`;
    const { at } = await drain(FEED_START);
    const doomed = openWriter(`${p}doomed`);
    await doomed.wrote;
    await insert(`${p}kept`);
    const first = await drain(at);
    await doomed.finish(false);
    const second = await drain(first.at);

    expect(mine(p, first.tags)).toEqual([`${p}kept`]);
    expect(second.tags).toEqual([]);
  });

  it('carries only the rows its filter admits, over the same positions', async () => {
    const owner = `owner-${randomUUID()}`;
    await db().execute(sql`insert into feed_rows (tag, owner) values ('x1', ${owner}), ('x2', 'someone-else')`);
    const slow = openWriter('other-slow');
    await slow.wrote;
    await db().execute(sql`insert into feed_rows (tag, owner) values ('x3', ${owner})`);

    const { tags, at } = await drain(FEED_START, 1, owner);
    await slow.finish(true);

    expect(tags).toEqual(['x1', 'x3']);
    expect((await drain(at, 1, owner)).tags).toEqual([]);
  });

  it('hands every row to a reader exactly once while many writers commit and roll back around it', async () => {
    const p = `race-${randomUUID()}:`;
    const { at: start } = await drain(FEED_START);
    const committed: string[] = [];
    let writing = true;
    const writers = Array.from({ length: 12 }, async (_, w) => {
      for (let i = 0; i < 15; i++) {
        const tags = [`${p}${w}-${i}-a`, `${p}${w}-${i}-b`];
        const keep = (w + i) % 5 !== 0;
        await db()
          .transaction(async (tx) => {
            await tx.execute(sql`insert into feed_rows (tag) values (${tags[0]})`);
            await sleep(Math.floor(Math.random() * 15));
            await tx.execute(sql`insert into feed_rows (tag) values (${tags[1]})`);
            if (!keep) tx.rollback();
          })
          .catch(() => undefined);
        if (keep) committed.push(...tags);
      }
    });
    const seen: string[] = [];
    const reader = (async () => {
      let at = start;
      while (writing) {
        const page = await readCommitFeed<{ tag: string }>(db(), query(), at, 7);
        seen.push(...page.rows.map((r) => r.tag));
        at = page.next;
      }
      seen.push(...(await drain(at, 7)).tags);
    })();
    await Promise.all(writers);
    writing = false;
    await reader;

    const delivered = mine(p, seen);
    expect(delivered.length).toBe(committed.length);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect([...delivered].sort()).toEqual([...committed].sort());
    // The two rows of a transaction arrive together, in their order.
    for (let i = 0; i < delivered.length; i += 2) {
      expect(delivered[i]!.replace(/-a$/, '')).toBe(delivered[i + 1]!.replace(/-b$/, ''));
    }
  });

  describe('cursor', () => {
    it('survives a round trip through its string', async () => {
      const slow = openWriter('cursor-slow');
      await slow.wrote;
      // A later commit puts the open transaction below the snapshot's xmax, among the running ones.
      await insert('cursor-later');
      const { at } = await drain(FEED_START);
      await slow.finish(true);
      const paging: CommitFeedCursor = { ...at, paging: at.seen, after: [12n, 34n] };

      expect(at.seen?.running.length).toBeGreaterThan(0);
      expect(decodeCommitFeedCursor(encodeCommitFeedCursor(at))).toEqual(at);
      expect(decodeCommitFeedCursor(encodeCommitFeedCursor(paging))).toEqual(paging);
      expect(decodeCommitFeedCursor(encodeCommitFeedCursor(FEED_START))).toEqual(FEED_START);
    });

    it.each([
      ['not base64url', 'a+b'],
      ['not JSON', Buffer.from('{').toString('base64url')],
      ['the wrong shape', Buffer.from('[1,2]').toString('base64url')],
      [
        'a number beyond int8',
        Buffer.from(JSON.stringify([null, null, ['9223372036854775808', '0']])).toString('base64url'),
      ],
      ['a running id below zero', Buffer.from(JSON.stringify([['5', [6]], null, null])).toString('base64url')],
      ['a running id at xmax', Buffer.from(JSON.stringify([['5', [0]], null, null])).toString('base64url')],
      ['running ids below zero in all', Buffer.from(JSON.stringify([['5', [3, 3]], null, null])).toString('base64url')],
      [
        'more running ids than a server runs',
        Buffer.from(JSON.stringify([['5000', Array(701).fill(1)], null, null])).toString('base64url'),
      ],
      ['a fractional distance', Buffer.from(JSON.stringify([['5', [1.5]], null, null])).toString('base64url')],
      ['a leading zero', Buffer.from(JSON.stringify([null, null, ['01', '0']])).toString('base64url')],
    ])('refuses %s', (_what, raw) => {
      expect(decodeCommitFeedCursor(raw)).toBeUndefined();
    });
  });
});
