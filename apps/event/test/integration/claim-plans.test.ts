import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Claim, Condition, CreateRewardBody, Reward } from '@rewards/contracts';
import { rowsOf } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { fullScansByStatement, planningConnection } from '../../../../test/support/plans.js';
import { ActivitiesService } from '../../src/activities/activities.service.js';
import { ActivityRepository } from '../../src/activities/activity.repository.js';
import { ClaimRepository, type ClaimWrite } from '../../src/claims/claim.repository.js';
import { factsNeeded } from '../../src/domain/condition-evaluator.js';
import { EventsService } from '../../src/events/events.service.js';
import { WebhookOutbox } from '../../src/webhooks/webhook-outbox.service.js';
import { contextOf, type EventApp, operator, player, startEventApp } from './event-app.js';

/**
 * The claim path's prepared statements, planned generically on a database that has just been
 * migrated: the plans every connection of a new deployment, or of the bench, caches before the
 * tables have statistics. A claim's statements must look their rows up by index in those plans; a
 * plan that reads the claims table through for each claim of a batch cost the batched write
 * seconds of its throughput once the table held tens of thousands of claims.
 */

/**
 * Scans that read all of a small relation on purpose. The webhooks a claim's message goes to are the
 * active subscriptions, all of them (a partial index of those alone). The stock counters (at most 32
 * rows per limited reward) fit a page or two while a deployment is new, and a sequential scan is the
 * cheaper plan then; their table is updated by every claim on limited stock, so autovacuum analyzes
 * it, and the cached plans are made again, long before it grows.
 */
const READ_THROUGH_BY_DESIGN = ['Index Only Scan on webhooks (webhooks_subscribed_idx)', 'Seq Scan on reward_stock'];

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));
const HOUR = 3_600_000;
const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

describe('the claim path’s generic plans', () => {
  let t: TestDatabase;
  let app: EventApp;
  const ops = operator();

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    app = await startEventApp(t.url);
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  async function newEvent(condition: Condition, reward: CreateRewardBody) {
    const events = app.get(EventsService);
    const event = await events.create(contextOf(ops), {
      title: 'Plans',
      startsAt: at(-HOUR),
      endsAt: at(24 * HOUR),
      condition,
      status: 'ACTIVE',
    });
    const added: Reward = await events.addReward(contextOf(ops), event.id, reward);
    const [row] = rowsOf<{ version: number }>(
      await t.database.db.execute(sql`select version from events where id = ${event.id}`),
    );
    return { id: event.id, version: row!.version, reward: added };
  }

  function decided(e: { id: string; reward: Reward }, userId: string, key?: string): ClaimWrite {
    const claim: Claim = {
      id: randomUUID(),
      eventId: e.id,
      userId,
      periodKey: 'ONCE',
      status: 'APPROVED',
      reason: null,
      note: null,
      rewards: [
        {
          rewardId: e.reward.id,
          type: e.reward.type,
          name: e.reward.name,
          itemCode: e.reward.itemCode,
          quantity: e.reward.quantity,
        },
      ],
      createdAt: new Date().toISOString(),
      decidedAt: new Date().toISOString(),
      decidedBy: 'system',
    };
    const stock = e.reward.stock === null ? [] : [{ rewardId: e.reward.id, quantity: e.reward.quantity }];
    return {
      claim,
      eventVersion: e.version,
      stock,
      waitForStock: false,
      idempotencyKey: key,
      message: app.get(WebhookOutbox).messageOf(claim),
    };
  }

  it('look up claims, keys, stock counters and facts by index, never reading a table through', async () => {
    const level: Condition = { type: 'LEVEL_REACHED', level: 10 };
    const logins: Condition = { type: 'LOGIN_DAYS', days: 1 };
    const points = await newEvent(level, { type: 'POINT', name: '100 points', quantity: 100 });
    const sword = await newEvent(level, { type: 'ITEM', name: 'Sword', itemCode: 'SWORD', quantity: 1, stock: 50 });
    const ps = Array.from({ length: 6 }, player).map((p) => p.subject);
    await app.get(ActivitiesService).ingest(contextOf({ kind: 'user', subject: randomUUID(), roles: ['ADMIN'] }), [
      ...ps.map((userId) => ({
        id: `level-${userId}`,
        userId,
        type: 'LEVEL_UP',
        occurredAt: at(-HOUR / 2),
        value: 10,
      })),
      ...ps.map((userId) => ({ id: `login-${userId}`, userId, type: 'LOGIN', occurredAt: at(-HOUR / 2) })),
    ]);

    const conn = await planningConnection(t.url);
    try {
      const claims = new ClaimRepository();
      const activities = new ActivityRepository();
      const window = { start: new Date(at(-HOUR)), end: new Date(at(24 * HOUR)), timeZone: 'UTC' };
      for (const condition of [level, logins]) {
        const facts = await activities.factsOf(conn.db, ps, window, factsNeeded(condition));
        expect(facts.size).toBe(ps.length);
      }
      const batch = [decided(points, ps[0]!, randomUUID()), decided(points, ps[1]!), decided(sword, ps[2]!)];
      expect(await claims.writeMany(conn.db, batch)).toEqual(Array(3).fill({ written: true, messages: 0 }));
      expect(await claims.write(conn.db, decided(points, ps[3]!, randomUUID()))).toEqual({
        written: true,
        messages: 0,
      });
      expect(await claims.write(conn.db, decided(sword, ps[4]!))).toEqual({ written: true, messages: 0 });
      const rejected = decided(points, ps[0]!);
      rejected.claim = { ...rejected.claim, status: 'REJECTED', reason: 'CONDITION_NOT_MET', rewards: [] };
      expect(await claims.write(conn.db, rejected)).toEqual({ written: false, why: 'active' });

      // Two facts reads, the batch and three single writes: each planned once, generically.
      const scans = fullScansByStatement(conn.planned, READ_THROUGH_BY_DESIGN);
      expect(scans.length).toBeGreaterThanOrEqual(6);
      expect(scans).toEqual(scans.map(({ statement }) => ({ statement, fullScans: [] })));
    } finally {
      await conn.close();
    }
  });
});
