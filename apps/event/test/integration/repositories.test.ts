import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isUniqueViolation } from '@rewards/infrastructure';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { ActivityRepository } from '../../src/activities/activity.repository.js';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { ACTIVE_CLAIM_INDEX, ClaimRepository } from '../../src/claims/claim.repository.js';
import { evaluate, factsNeeded } from '../../src/domain/condition-evaluator.js';
import { EventRepository } from '../../src/events/event.repository.js';

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));

describe('event repositories', () => {
  let t: TestDatabase;
  let activities: ActivityRepository;
  let events: EventRepository;
  let claims: ClaimRepository;
  let audit: AuditRepository;
  /** Reads outside a transaction, as services make them (`UnitOfWork.db`). */
  let db: Db;

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    db = t.database.db;
    activities = new ActivityRepository();
    events = new EventRepository();
    claims = new ClaimRepository();
    audit = new AuditRepository();
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const newEvent = async (over: Partial<Parameters<EventRepository['insert']>[1]> = {}) =>
    t.database.db.transaction((tx) =>
      events.insert(tx, {
        id: randomUUID(),
        title: 'Test',
        startsAt: new Date('2026-03-01T00:00:00Z'),
        endsAt: new Date('2026-04-01T00:00:00Z'),
        timezone: 'Asia/Seoul',
        status: 'ACTIVE',
        condition: { type: 'LOGIN_DAYS', days: 1 },
        approval: 'AUTO',
        repeat: 'NONE',
        createdBy: 'tester',
        ...over,
      }),
    );

  describe(ActivityRepository.name, () => {
    it('stores each (source, id) once and counts duplicates, within and across batches', async () => {
      const user = randomUUID();
      const a = { id: 'a1', userId: user, type: 'QUEST_CLEARED', occurredAt: '2026-03-02T01:00:00Z' };
      const first = await t.database.db.transaction((tx) => activities.ingest(tx, 'src', [a, { ...a, id: 'a2' }, a]));
      expect(first).toEqual({ accepted: 2, duplicates: 1 });
      const again = await t.database.db.transaction((tx) => activities.ingest(tx, 'src', [a]));
      expect(again).toEqual({ accepted: 0, duplicates: 1 });
      const other = await t.database.db.transaction((tx) => activities.ingest(tx, 'other-source', [a]));
      expect(other).toEqual({ accepted: 1, duplicates: 0 });
      const [row] = rowsOf<{ count: number }>(
        await t.database.db.execute(sql`select sum(count)::int as count from activity_buckets where user_id = ${user}`),
      );
      expect(row!.count).toBe(3);
    });

    it('counts per local day of the event zone, exactly at the window edges', async () => {
      const user = randomUUID();
      const at = (id: string, occurredAt: string, type = 'LOGIN', value?: number) => ({
        id,
        userId: user,
        type,
        occurredAt,
        value,
      });
      await t.database.db.transaction((tx) =>
        activities.ingest(tx, 'src', [
          at('before', '2026-03-01T09:59:59Z'), // just before the window
          at('edge-in', '2026-03-01T10:07:00Z'), // inside, in the partial first bucket
          at('d1', '2026-03-01T14:59:00Z'), // 23:59 in Seoul on 1 March
          at('d2', '2026-03-01T15:00:00Z'), // 00:00 in Seoul on 2 March
          at('d3', '2026-03-03T03:00:00Z'),
          at('last', '2026-03-05T10:06:59Z'), // inside, in the partial last bucket
          at('after', '2026-03-05T10:07:00Z'), // at the end: outside
          at('p1', '2026-03-02T00:00:00Z', 'PURCHASE', 12.5),
          at('p2', '2026-03-02T00:01:00Z', 'PURCHASE', 7.5),
          at('lv', '2025-01-01T00:00:00Z', 'LEVEL_UP', 42),
          at('lv2', '2026-03-02T00:00:00Z', 'LEVEL_UP', 17),
        ]),
      );
      const window = {
        start: new Date('2026-03-01T10:07:00Z'),
        end: new Date('2026-03-05T10:07:00Z'),
        timeZone: 'Asia/Seoul',
      };
      const facts = await activities.facts(db, user, window, {
        windowed: new Set(['LOGIN', 'PURCHASE']),
        highest: new Set(['LEVEL_UP']),
      });
      const logins = [...(facts.daily.get('LOGIN') ?? [])].sort((x, y) => x.day.localeCompare(y.day));
      expect(logins).toEqual([
        { day: '2026-03-01', count: 2, sum: 0 },
        { day: '2026-03-02', count: 1, sum: 0 },
        { day: '2026-03-03', count: 1, sum: 0 },
        { day: '2026-03-05', count: 1, sum: 0 },
      ]);
      expect(facts.daily.get('PURCHASE')).toEqual([{ day: '2026-03-02', count: 2, sum: 20 }]);
      expect(facts.highest.get('LEVEL_UP')).toBe(42);
      expect(evaluate({ type: 'LOGIN_STREAK', days: 3 }, facts)).toEqual({
        type: 'LOGIN_STREAK',
        required: 3,
        current: 3,
        met: true,
      });
      expect(evaluate({ type: 'LOGIN_DAYS', days: 5 }, facts)).toMatchObject({ current: 4, met: false });
      // In UTC the same logins fall on other days (once an event in UTC has the zone tracked).
      await t.database.db.transaction((tx) => activities.trackZone(tx, 'UTC'));
      const needed = factsNeeded({ type: 'LOGIN_DAYS', days: 1 });
      const utc = await activities.facts(db, user, { ...window, timeZone: 'UTC' }, needed);
      expect((utc.daily.get('LOGIN') ?? []).map((d) => d.day).sort()).toEqual([
        '2026-03-01',
        '2026-03-03',
        '2026-03-05',
      ]);
    });

    it('gives the same days from daily counters as from the facts, for windows of any alignment and zone', async () => {
      const user = randomUUID();
      const zones = ['America/New_York', 'Asia/Kathmandu'];
      for (const z of zones) await t.database.db.transaction((tx) => activities.trackZone(tx, z));
      const batch = Array.from({ length: 400 }, (_, i) => ({
        id: `g${i}`,
        userId: user,
        type: i % 3 === 0 ? 'PURCHASE' : 'LOGIN',
        occurredAt: new Date(Date.parse('2026-03-05T00:00:00Z') + i * 37 * 60_000 + (i % 7) * 1000).toISOString(),
        value: i % 5,
      }));
      // Half before a zone is tracked (back-filled), half after (counted on ingestion).
      await t.database.db.transaction((tx) => activities.ingest(tx, 'src', batch.slice(0, 200)));
      await t.database.db.transaction((tx) => activities.trackZone(tx, 'Europe/London'));
      await t.database.db.transaction((tx) => activities.ingest(tx, 'src', batch.slice(200)));
      const windows = [
        ['2026-03-05T03:10:00Z', '2026-03-14T11:50:00Z'],
        ['2026-03-06T05:00:00Z', '2026-03-09T04:00:00Z'],
        ['2026-03-07T10:20:00Z', '2026-03-07T19:40:00Z'],
      ];
      for (const timeZone of [...zones, 'Europe/London']) {
        for (const [s, e] of windows) {
          const start = new Date(s!);
          const end = new Date(e!);
          const needed = { windowed: new Set(['LOGIN', 'PURCHASE']), highest: new Set<string>() };
          const facts = await activities.facts(db, user, { start, end, timeZone }, needed);
          for (const type of ['LOGIN', 'PURCHASE']) {
            const expected = new Map<string, { count: number; sum: number }>();
            for (const a of batch) {
              const at = new Date(a.occurredAt);
              if (a.type !== type || at < start || at >= end) continue;
              const day = new Intl.DateTimeFormat('en-CA', {
                timeZone,
                year: 'numeric',
                month: '2-digit',
                day: '2-digit',
              }).format(at);
              const d = expected.get(day) ?? { count: 0, sum: 0 };
              d.count += 1;
              d.sum += a.value;
              expected.set(day, d);
            }
            const got = [...(facts.daily.get(type) ?? [])].sort((x, y) => x.day.localeCompare(y.day));
            expect(got).toEqual(
              [...expected.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([day, v]) => ({ day, ...v })),
            );
          }
        }
      }
    });

    it('reads the last day of a window still well ahead from its counter, with the same answer as the facts', async () => {
      const user = randomUUID();
      const now = new Date('2026-03-12T10:00:00Z');
      const batch = Array.from({ length: 200 }, (_, i) => ({
        id: `open${i}`,
        userId: user,
        type: 'LOGIN',
        occurredAt: new Date(Date.parse('2026-03-10T00:00:00Z') + i * 17 * 60_000).toISOString(),
      })).filter((a) => a.occurredAt <= now.toISOString());
      // A sender's clock may run a few minutes ahead of ours.
      batch.push({ id: 'open-ahead', userId: user, type: 'LOGIN', occurredAt: '2026-03-12T10:04:00Z' });
      await t.database.db.transaction((tx) => activities.trackZone(tx, 'UTC'));
      await t.database.db.transaction((tx) => activities.ingest(tx, 'src', batch));
      const window = {
        start: new Date('2026-03-10T05:30:00Z'),
        end: new Date('2026-03-12T18:00:00Z'),
        timeZone: 'UTC',
      };
      const needed = { windowed: new Set(['LOGIN']), highest: new Set<string>() };
      const expected = new Map<string, number>();
      for (const a of batch) {
        if (a.occurredAt < window.start.toISOString()) continue;
        expected.set(a.occurredAt.slice(0, 10), (expected.get(a.occurredAt.slice(0, 10)) ?? 0) + 1);
      }
      const want = [...expected].map(([day, count]) => ({ day, count, sum: 0 }));
      expect(want.map((d) => d.day)).toEqual(['2026-03-10', '2026-03-11', '2026-03-12']);
      for (const at of [now, new Date('2026-12-01T00:00:00Z')]) {
        const facts = await activities.facts(db, user, window, needed, at);
        expect([...(facts.daily.get('LOGIN') ?? [])].sort((x, y) => x.day.localeCompare(y.day))).toEqual(want);
      }
    });

    it('reads several players at once, each exactly as alone, one of them with a fact past the window’s end', async () => {
      const [a, b, none] = [randomUUID(), randomUUID(), randomUUID()];
      const login = (userId: string, occurredAt: string) => ({
        id: `${userId}-${occurredAt}`,
        userId,
        type: 'LOGIN',
        occurredAt,
      });
      await t.database.db.transaction((tx) => activities.trackZone(tx, 'UTC'));
      await t.database.db.transaction((tx) =>
        activities.ingest(tx, 'src', [
          login(a, '2026-04-10T08:00:00Z'),
          login(a, '2026-04-11T08:00:00Z'),
          login(a, '2026-04-12T09:00:00Z'),
          login(a, '2026-04-12T18:30:00Z'), // after the window's end, on its last day
          login(b, '2026-04-11T12:00:00Z'),
          login(b, '2026-04-12T12:00:00Z'),
          { id: 'b-level', userId: b, type: 'LEVEL_UP', occurredAt: '2026-04-01T00:00:00Z', value: 30 },
        ]),
      );
      const window = {
        start: new Date('2026-04-10T05:30:00Z'),
        end: new Date('2026-04-12T18:00:00Z'),
        timeZone: 'UTC',
      };
      const needed = { windowed: new Set(['LOGIN']), highest: new Set(['LEVEL_UP']) };
      const now = new Date('2026-04-12T10:00:00Z');
      const together = await activities.factsOf(db, [a, b.toUpperCase(), none], window, needed, now);

      expect([...together.keys()]).toEqual([a, b, none]);
      for (const user of [a, b, none])
        expect(together.get(user)).toEqual(await activities.facts(db, user, window, needed, now));
      expect(
        together
          .get(a)!
          .daily.get('LOGIN')!
          .find((d) => d.day === '2026-04-12'),
      ).toEqual({
        day: '2026-04-12',
        count: 1,
        sum: 0,
      });
      expect(together.get(b)!.highest.get('LEVEL_UP')).toBe(30);
      expect(together.get(none)).toEqual({ daily: new Map(), highest: new Map() });
    });

    it('answers for a window shorter than one bucket from the facts alone', async () => {
      const user = randomUUID();
      await t.database.db.transaction((tx) =>
        activities.ingest(tx, 'src', [
          { id: 's1', userId: user, type: 'LOGIN', occurredAt: '2026-03-01T10:01:00Z' },
          { id: 's2', userId: user, type: 'LOGIN', occurredAt: '2026-03-01T10:05:00Z' },
        ]),
      );
      const facts = await activities.facts(
        db,
        user,
        { start: new Date('2026-03-01T10:02:00Z'), end: new Date('2026-03-01T10:10:00Z'), timeZone: 'UTC' },
        { windowed: new Set(['LOGIN']), highest: new Set() },
      );
      expect(facts.daily.get('LOGIN')).toEqual([{ day: '2026-03-01', count: 1, sum: 0 }]);
    });
  });

  describe(ClaimRepository.name, () => {
    it('refuses a second pending or approved claim for the same period, and allows one after a rejection', async () => {
      const event = await newEvent();
      const user = randomUUID();
      const claim = (status: 'PENDING' | 'APPROVED' | 'REJECTED', periodKey = 'ONCE') =>
        t.database.db.transaction((tx) =>
          claims.insert(tx, { id: randomUUID(), userId: user, eventId: event.id, periodKey, status, rewards: [] }),
        );
      const first = await claim('PENDING');
      const err = await claim('APPROVED').catch((e: unknown) => e);
      expect(isUniqueViolation(err, ACTIVE_CLAIM_INDEX)).toBe(true);
      await claim('REJECTED');
      await claim('PENDING', '2026-03-02');
      const rejection = { status: 'REJECTED', reason: 'REJECTED_BY_OPERATOR', note: 'no', decidedBy: 'op' } as const;
      await t.database.db.transaction((tx) => claims.recordDecision(tx, first.id, rejection));
      await expect(claim('APPROVED')).resolves.toMatchObject({ status: 'APPROVED' });
    });

    it('pages history newest first without overlap or gaps while claims are added', async () => {
      const event = await newEvent();
      const insertOne = () =>
        t.database.db.transaction((tx) =>
          claims.insert(tx, {
            id: randomUUID(),
            userId: randomUUID(),
            eventId: event.id,
            periodKey: 'ONCE',
            status: 'REJECTED',
            reason: 'CONDITION_NOT_MET',
            rewards: [],
          }),
        );
      for (let i = 0; i < 7; i++) await insertOne();
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await claims.list(db, { eventId: event.id, limit: 3, cursor });
        seen.push(...page.items.map((c) => c.id));
        await insertOne(); // newer than every page already read: must not appear later
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen).size).toBe(7);
    });

    it('writes a claim only with every unit reserved, never more than the stock, and nothing on a stale version', async () => {
      const event = await newEvent();
      const reward = (stock: number, quantity: number) =>
        t.database.db.transaction((tx) =>
          events.insertReward(tx, { id: randomUUID(), eventId: event.id, type: 'ITEM', name: 'Gem', quantity, stock }),
        );
      const scarce = await reward(4, 2);
      const plenty = await reward(100, 1);
      const { version } = (await events.withRewards(db, event.id))!.event;
      const stock = [
        { rewardId: scarce.id, quantity: 2 },
        { rewardId: plenty.id, quantity: 1 },
      ].sort((a, b) => (a.rewardId < b.rewardId ? -1 : 1));
      const write = (eventVersion: number, waitForStock: boolean) => {
        const claim = {
          id: randomUUID(),
          eventId: event.id,
          userId: randomUUID(),
          periodKey: 'ONCE',
          status: 'APPROVED' as const,
          reason: null,
          note: null,
          rewards: [],
          createdAt: new Date().toISOString(),
          decidedAt: new Date().toISOString(),
          decidedBy: 'system',
        };
        const message = { messageId: randomUUID(), type: 'claim.approved' as const, timestamp: claim.createdAt, claim };
        return claims.write(db, { claim, eventVersion, stock, waitForStock, message });
      };
      expect(await write(version + 1, true)).toEqual({ written: false, why: 'stale' });
      const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => write(version, i % 2 === 0)));
      const written = outcomes.filter((o) => o.written).length;
      // Without waiting, a claim may give up on counters others hold; waiting, only on empty ones.
      expect(written).toBeGreaterThanOrEqual(1);
      expect(written).toBeLessThanOrEqual(2);
      expect(outcomes.filter((o) => !o.written).every((o) => !o.written && o.why === 'short')).toBe(true);
      while ((await events.rewards(db, event.id))[0]!.remaining! > 0) await write(version, true);
      expect(await write(version, true)).toEqual({ written: false, why: 'short' });
      const left = await events.rewards(db, event.id);
      expect(left.map((r) => r.remaining)).toEqual([0, 98]);
      const [{ n }] = rowsOf<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from claims where event_id = ${event.id}`),
      );
      expect(n).toBe(2);
    });

    it('lets exactly one of 30 concurrent claims through, across 3 connection pools', async () => {
      const { openDatabase } = await import('@rewards/infrastructure/persistence');
      const { silentLogger } = await import('../../../../test/support/databases.js');
      const pools = await Promise.all(
        [1, 2, 3].map(() => openDatabase({ url: t.url, poolSize: 10, logger: silentLogger })),
      );
      const event = await newEvent();
      const user = randomUUID();
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          pools[i % 3]!.db.transaction((tx) =>
            claims.insert(tx, {
              id: randomUUID(),
              userId: user,
              eventId: event.id,
              periodKey: 'ONCE',
              status: 'APPROVED',
              rewards: [],
            }),
          ),
        ),
      );
      await Promise.all(pools.map((p) => p.close()));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(
        results.filter((r) => r.status === 'rejected' && isUniqueViolation(r.reason, ACTIVE_CLAIM_INDEX)),
      ).toHaveLength(29);
    });
  });

  describe(EventRepository.name, () => {
    it('splits limited stock over counters that together grant exactly as many claims as the stock allows', async () => {
      const event = await newEvent();
      const counters = async (stock: number, quantity: number) => {
        const reward = await t.database.db.transaction((tx) =>
          events.insertReward(tx, {
            id: randomUUID(),
            eventId: event.id,
            type: 'ITEM',
            name: 'Sword',
            quantity,
            stock,
          }),
        );
        const rows = rowsOf<{ remaining: number }>(
          await db.execute(sql`select remaining from reward_stock where reward_id = ${reward.id} order by shard`),
        );
        return rows.map((r) => r.remaining);
      };
      expect(await counters(10, 3)).toEqual([4, 3, 3]);
      expect(await counters(2, 3)).toEqual([2]);
      expect(await counters(5, 2)).toEqual([3, 2]);
      const many = await counters(1000, 1);
      expect(many).toHaveLength(32);
      expect(many.reduce((a, b) => a + b, 0)).toBe(1000);
      expect(new Set(many)).toEqual(new Set([31, 32]));
      const rewards = await events.rewards(db, event.id);
      expect(rewards.map((r) => r.remaining)).toEqual([10, 2, 5, 1000]);
    });

    it('releases units back to the counter with the fewest left', async () => {
      const event = await newEvent();
      const reward = await t.database.db.transaction((tx) =>
        events.insertReward(tx, {
          id: randomUUID(),
          eventId: event.id,
          type: 'ITEM',
          name: 'Sword',
          quantity: 2,
          stock: 4,
        }),
      );
      await db.execute(sql`update reward_stock set remaining = 0 where reward_id = ${reward.id} and shard = 1`);
      await t.database.db.transaction((tx) => events.releaseStock(tx, reward.id, 2));
      const rows = rowsOf<{ shard: number; remaining: number }>(
        await db.execute(sql`select shard, remaining from reward_stock where reward_id = ${reward.id} order by shard`),
      );
      expect(rows).toEqual([
        { shard: 0, remaining: 2 },
        { shard: 1, remaining: 2 },
      ]);
    });

    it('reports whether claims exist, which freezes the condition', async () => {
      const event = await newEvent();
      expect((await events.find(db, event.id))!.locked).toBe(false);
      await t.database.db.transaction((tx) =>
        claims.insert(tx, {
          id: randomUUID(),
          userId: randomUUID(),
          eventId: event.id,
          periodKey: 'ONCE',
          status: 'REJECTED',
          rewards: [],
        }),
      );
      expect((await events.find(db, event.id))!.locked).toBe(true);
    });
  });

  describe(AuditRepository.name, () => {
    it('chains entries, skips a redelivered id, and detects an edit made directly in the database', async () => {
      const entry = (action: string, after: unknown) => ({
        id: randomUUID(),
        actorId: 'admin-1',
        action,
        targetType: 'event',
        targetId: 'e1',
        before: null,
        after,
        requestId: 'req-1',
        at: new Date(),
      });
      const e1 = entry('event.create', { title: 'A', nested: { b: 1, a: [1, 2.5, 'x'] } });
      const e2 = entry('event.update', { title: 'B' });
      const e3 = entry('reward.create', { name: 'Sword' });
      for (const e of [e1, e2, e3, e2]) await t.database.db.transaction((tx) => audit.append(tx, e));
      expect(await audit.verify(db)).toEqual({ valid: true, entries: 3, firstBrokenId: null });
      const page = await audit.list(db, { limit: 2, action: 'event.update' });
      expect(page.items.map((i) => i.id)).toEqual([e2.id]);
      await t.database.db.execute(sql`update audit_log set after = '{"title":"Z"}'::jsonb where id = ${e2.id}`);
      expect(await audit.verify(db)).toEqual({ valid: false, entries: 2, firstBrokenId: e2.id });
    });
  });
});
