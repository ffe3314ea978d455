import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openFreshDatabase, silentLogger, type TestDatabase } from '../../../../test/support/databases.js';
import { rowsOf } from '../../src/database.js';
import { PgNotifications } from '../../src/pg-notifications.js';

const CHANNEL = 'test_changes';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A TCP relay to the database server that can stop passing bytes without closing anything: the
 * path of a connection whose peer vanished (a failover, a dropped NAT entry) with no error to see.
 */
async function silenceableRelay(target: string) {
  const to = new URL(target);
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(Number(to.port || 5432), to.hostname);
    for (const [from, into] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => {
        if (!silent) into.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        sockets.delete(from);
        into.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    silence: (on: boolean) => {
      silent = on;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe(PgNotifications.name, () => {
  let t: TestDatabase;
  let sut: PgNotifications;

  beforeAll(async () => {
    t = await openFreshDatabase('notifications');
  });
  afterEach(async () => {
    await sut?.stop();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const notify = () => t.database.db.execute(sql`select pg_notify(${CHANNEL}, '')`);
  const listeners = async () =>
    rowsOf<{ n: number }>(
      await t.database.db.execute(
        sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and query = ${`listen ${CHANNEL}`}`,
      ),
    )[0]!.n;

  async function started(): Promise<PgNotifications> {
    sut = new PgNotifications(t.url, CHANNEL, silentLogger);
    await sut.start();
    return sut;
  }

  it('refuses a channel name that is not a plain identifier (it is spliced into LISTEN)', () => {
    expect(() => new PgNotifications(t.url, 'x; drop table users', silentLogger)).toThrow(/plain channel name/);
  });

  it('ends a wait when a notification on its channel commits, and moves its version', async () => {
    const notes = await started();
    expect(notes.listening).toBe(true);
    const since = notes.version;
    const waited = Date.now();
    const wait = notes.changedSince(since, 10_000);
    await notify();

    expect(await wait).toBe(true);
    expect(Date.now() - waited).toBeLessThan(2000);
    expect(notes.version).toBe(since + 1);
  });

  it('answers at once when the version already moved since the caller read it (no wakeup is missed)', async () => {
    const notes = await started();
    const since = notes.version;
    await notify();
    await until(() => notes.version !== since);

    const waited = Date.now();
    expect(await notes.changedSince(since, 10_000)).toBe(true);
    expect(Date.now() - waited).toBeLessThan(50);
  });

  it('sends a transaction’s notification at its commit, and none for a rollback', async () => {
    const notes = await started();
    const since = notes.version;
    await t.database.db
      .transaction(async (tx) => {
        await tx.execute(sql`select pg_notify(${CHANNEL}, '')`);
        tx.rollback();
      })
      .catch(() => undefined);
    expect(await notes.changedSince(since, 300)).toBe(false);

    let committedAt = 0;
    const wait = notes.changedSince(since, 10_000).then((changed) => ({ changed, at: Date.now() }));
    await t.database.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_notify(${CHANNEL}, '')`);
      await new Promise((r) => setTimeout(r, 300));
      committedAt = Date.now();
    });
    const woke = await wait;
    expect(woke.changed).toBe(true);
    expect(woke.at).toBeGreaterThanOrEqual(committedAt);
  });

  it('ignores other channels and times out with no change', async () => {
    const notes = await started();
    const since = notes.version;
    await t.database.db.execute(sql`select pg_notify('another_channel', '')`);
    const waited = Date.now();

    expect(await notes.changedSince(since, 400)).toBe(false);
    expect(Date.now() - waited).toBeGreaterThanOrEqual(380);
    expect(notes.version).toBe(since);
  });

  it('when its connection is killed: ends waits, answers at once while down, then listens again and counts that as a change', async () => {
    const notes = await started();
    const since = notes.version;
    const wait = notes.changedSince(since, 30_000);
    await t.database.db.execute(
      sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = ${`listen ${CHANNEL}`}`,
    );

    expect(await wait).toBe(true);
    expect(notes.listening).toBe(false);
    const down = Date.now();
    expect(await notes.changedSince(notes.version, 10_000)).toBe(false);
    expect(Date.now() - down).toBeLessThan(50);
    // Back after the first reconnect delay (500 ms); the version moved, since notifications were lost.
    await until(() => notes.listening);
    expect(notes.version).toBeGreaterThan(since);
    expect(await listeners()).toBe(1);
    const after = notes.version;
    const next = notes.changedSince(after, 10_000);
    await notify();
    expect(await next).toBe(true);
  });

  it('answers waits at once while it cannot connect', async () => {
    const unreachable = new URL(t.url);
    unreachable.port = '1';
    sut = new PgNotifications(unreachable.toString(), CHANNEL, silentLogger);
    await sut.start();
    expect(sut.listening).toBe(false);
    const waited = Date.now();
    expect(await sut.changedSince(sut.version, 10_000)).toBe(false);
    expect(Date.now() - waited).toBeLessThan(50);
  });

  it('counts a connection that falls silent as lost (no heartbeat back), and listens again once the path is back', async () => {
    const relay = await silenceableRelay(t.url);
    try {
      sut = new PgNotifications(relay.url, CHANNEL, silentLogger, { heartbeatMs: 200, heartbeatTimeoutMs: 300 });
      await sut.start();
      expect(sut.listening).toBe(true);
      const wait = sut.changedSince(sut.version, 30_000);
      relay.silence(true);

      const silencedAt = Date.now();
      expect(await wait).toBe(true);
      expect(Date.now() - silencedAt).toBeLessThan(1500);
      expect(sut.listening).toBe(false);
      const asked = Date.now();
      expect(await sut.changedSince(sut.version, 10_000)).toBe(false);
      expect(Date.now() - asked).toBeLessThan(50);

      relay.silence(false);
      await until(() => sut.listening, 15_000);
      const next = sut.changedSince(sut.version, 10_000);
      await notify();
      expect(await next).toBe(true);
      // Its own heartbeats (and other instances') never count as a change.
      const since = sut.version;
      expect(await sut.changedSince(since, 700)).toBe(false);
      expect(sut.version).toBe(since);
    } finally {
      await sut.stop();
      await relay.close();
    }
  });

  it('stops within about a second even when the server no longer answers', async () => {
    const relay = await silenceableRelay(t.url);
    try {
      sut = new PgNotifications(relay.url, CHANNEL, silentLogger);
      await sut.start();
      expect(sut.listening).toBe(true);
      relay.silence(true);

      const stopping = Date.now();
      await sut.stop();
      expect(Date.now() - stopping).toBeLessThan(2000);
    } finally {
      await relay.close();
    }
  });

  it('stop ends waits and closes its connection', async () => {
    const notes = await started();
    expect(await listeners()).toBe(1);
    const wait = notes.changedSince(notes.version, 30_000);
    await notes.stop();

    expect(await wait).toBe(true);
    expect(notes.listening).toBe(false);
    await until(async () => (await listeners()) === 0);
    expect(await notes.changedSince(notes.version, 10_000)).toBe(false);
  });
});
