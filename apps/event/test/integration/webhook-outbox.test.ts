import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Claim, WebhookMessageType } from '@rewards/contracts';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { WebhookMessageRepository, type LeasedMessage } from '../../src/webhooks/webhook-message.repository.js';
import { WebhookRepository } from '../../src/webhooks/webhook.repository.js';

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));

describe('webhook outbox', () => {
  let t: TestDatabase;
  let db: Db;
  const webhooks = new WebhookRepository();
  const messages = new WebhookMessageRepository();

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    db = t.database.db;
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const newWebhook = (events: WebhookMessageType[], over: { active?: boolean } = {}) =>
    webhooks.insert(db, {
      id: randomUUID(),
      url: 'http://127.0.0.1:9/hook',
      events,
      active: over.active ?? true,
      secret: 'whsec_c2VjcmV0',
      createdBy: 'tester',
    });
  const claimOf = (status: Claim['status']): Claim => ({
    id: randomUUID(),
    eventId: randomUUID(),
    userId: randomUUID(),
    periodKey: 'once',
    status,
    reason: status === 'REJECTED' ? 'CONDITION_NOT_MET' : null,
    note: null,
    rewards: [],
    createdAt: new Date().toISOString(),
    decidedAt: null,
    decidedBy: null,
  });
  const announce = (claim: Claim, type: 'claim.approved' | 'claim.pending' | 'claim.rejected') =>
    db.transaction((tx) =>
      messages.insertForSubscribers(tx, { messageId: randomUUID(), type, timestamp: new Date().toISOString(), claim }),
    );
  const rowsFor = (webhookId: string) =>
    db.execute(sql`select * from webhook_messages where webhook_id = ${webhookId} order by created_at`).then(rowsOf);
  const leaseAll = (caps: Record<string, number> = {}, perWebhook = 8, total = 100) =>
    messages.lease(db, { caps, perWebhook, total, leaseSeconds: 30 });
  const drain = async () => {
    // Each test's webhooks and messages: out of the way of the next.
    await db.execute(sql`update webhook_messages set status = 'DELIVERED' where status = 'PENDING'`);
    await db.execute(sql`update webhooks set active = false`);
  };

  it('writes nothing without a subscriber, and one message per active subscribed webhook', async () => {
    expect(await announce(claimOf('APPROVED'), 'claim.approved')).toBe(0);
    const approved = await newWebhook(['claim.approved']);
    const all = await newWebhook(['claim.approved', 'claim.pending', 'claim.rejected']);
    const off = await newWebhook(['claim.approved'], { active: false });
    const gone = await newWebhook(['claim.approved']);
    await db.transaction((tx) => webhooks.softDelete(tx, gone.id));
    expect(await announce(claimOf('APPROVED'), 'claim.approved')).toBe(2);
    expect(await announce(claimOf('PENDING'), 'claim.pending')).toBe(1);
    expect((await rowsFor(approved.id)).length).toBe(1);
    expect((await rowsFor(all.id)).length).toBe(2);
    expect(await rowsFor(off.id)).toEqual([]);
    expect(await rowsFor(gone.id)).toEqual([]);
    await drain();
  });

  it('builds the body {"type","timestamp","data"} in that order, with the grants of an approved claim', async () => {
    const hook = await newWebhook(['claim.approved']);
    const claim = claimOf('APPROVED');
    const grantId = randomUUID();
    await db.execute(sql`
      insert into events (id, title, starts_at, ends_at, timezone, status, condition, approval, repeat, created_by)
      values (${claim.eventId}, 'T', now(), now() + interval '1 day', 'UTC', 'ACTIVE', '{"type":"LOGIN_DAYS","days":1}',
              'AUTO', 'NONE', 'tester')`);
    await db.execute(sql`
      insert into claims (id, user_id, event_id, period_key, status, rewards)
      values (${claim.id}, ${claim.userId}, ${claim.eventId}, 'once', 'APPROVED', '[]')`);
    await db.execute(sql`
      insert into grants (id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity, granted_at)
      values (${grantId}, ${claim.userId}, ${claim.id}, ${claim.eventId}, ${randomUUID()}, 'ITEM', 'Sword', 'SWD', 1,
              '2026-03-01T01:02:03.456Z')`);
    await announce(claim, 'claim.approved');
    const [row] = (await rowsFor(hook.id)) as { payload: string; status: string; attempts: number }[];
    expect(Object.keys(JSON.parse(row!.payload))).toEqual(['type', 'timestamp', 'data']);
    const body = JSON.parse(row!.payload);
    expect(body).toEqual({
      type: 'claim.approved',
      timestamp: expect.any(String),
      data: {
        claim,
        grants: [expect.objectContaining({ id: grantId, userId: claim.userId, grantedAt: '2026-03-01T01:02:03.456Z' })],
      },
    });
    expect(row).toMatchObject({ status: 'PENDING', attempts: 0 });
    await drain();
  });

  it('leases each due message to one taker only, at most the cap per webhook, and counts the attempt', async () => {
    const hook = await newWebhook(['claim.rejected']);
    const other = await newWebhook(['claim.rejected']);
    for (let i = 0; i < 12; i++) await announce(claimOf('REJECTED'), 'claim.rejected');
    const [a, b] = await Promise.all([leaseAll({ [hook.id]: 3 }, 4), leaseAll({ [hook.id]: 3 }, 4)]);
    const ids = (l: LeasedMessage[], w: string) => l.filter((m) => m.webhookId === w).map((m) => m.messageId);
    expect(ids(a, hook.id).length).toBeLessThanOrEqual(3);
    expect(ids(a, other.id).length).toBeLessThanOrEqual(4);
    expect(ids(a, hook.id).filter((id) => ids(b, hook.id).includes(id))).toEqual([]);
    expect(a.every((m) => m.attempts === 1 && m.secrets.length === 1)).toBe(true);
    // Leased messages are not due for anyone else until the lease runs out.
    const taken = new Set([...a, ...b].map((m) => `${m.webhookId}/${m.messageId}`));
    const rest = await leaseAll({}, 100);
    expect(rest.filter((m) => taken.has(`${m.webhookId}/${m.messageId}`))).toEqual([]);
    expect(taken.size + rest.length).toBe(24);
    await drain();
  });

  it('records outcomes: delivered, retried later, failed; a stale lease never reschedules', async () => {
    const hook = await newWebhook(['claim.pending']);
    for (let i = 0; i < 3; i++) await announce(claimOf('PENDING'), 'claim.pending');
    const leased = await leaseAll();
    expect(leased).toHaveLength(3);
    const [ok, retry, failed] = leased as [LeasedMessage, LeasedMessage, LeasedMessage];
    const outcome = (m: LeasedMessage, over: object) => ({
      webhookId: m.webhookId,
      messageId: m.messageId,
      attempts: m.attempts,
      delivered: false,
      retryInMs: null,
      responseStatus: 500,
      error: 'HTTP 500',
      ...over,
    });
    const dueInMs = await messages.recordOutcomes(db, [
      outcome(ok, { delivered: true, responseStatus: 200, error: null }),
      outcome(retry, { retryInMs: 60_000 }),
      outcome(failed, {}),
      // An answer from an older lease of the retried message: ignored.
      outcome(retry, { attempts: 0, retryInMs: 0 }),
    ]);
    // The earliest retry it scheduled, from the statement's own now(): the worker wakes for it.
    expect(dueInMs).toBe(60_000);
    const page = await messages.list(db, hook.id, { limit: 10 });
    const byId = Object.fromEntries(page.items.map((d) => [d.messageId, d]));
    expect(byId[ok.messageId]).toMatchObject({ status: 'DELIVERED', attempts: 1, lastResponseStatus: 200 });
    expect(byId[ok.messageId]!.deliveredAt).not.toBeNull();
    expect(byId[retry.messageId]).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'HTTP 500' });
    expect(Date.parse(byId[retry.messageId]!.nextAttemptAt!)).toBeGreaterThan(Date.now() + 50_000);
    expect(byId[failed.messageId]).toMatchObject({ status: 'FAILED', nextAttemptAt: null });
    expect(await leaseAll()).toEqual([]);
    expect((await messages.list(db, hook.id, { limit: 10, status: 'FAILED' })).items).toHaveLength(1);

    // A manual retry makes it due at once; a lease given back is due again, without counting the attempt.
    await db.transaction((tx) => messages.retryNow(tx, hook.id, failed.messageId));
    const [again] = await leaseAll();
    expect(again).toMatchObject({ messageId: failed.messageId, attempts: 2 });
    await messages.release(db, [again!]);
    const [third] = await leaseAll();
    expect(third).toMatchObject({ messageId: failed.messageId, attempts: 2 });
    // Outcomes that schedule no retry (here a delivery) say so.
    expect(
      await messages.recordOutcomes(db, [outcome(third!, { delivered: true, responseStatus: 200, error: null })]),
    ).toBeNull();
    await drain();
  });

  it('signs with both secrets during a rotation, and knows the oldest pending message', async () => {
    const hook = await newWebhook(['claim.rejected']);
    await db.transaction((tx) => webhooks.rotateSecret(tx, hook.id, 'whsec_bmV3'));
    await announce(claimOf('REJECTED'), 'claim.rejected');
    const [m] = await leaseAll();
    expect(m!.secrets).toEqual(['whsec_bmV3', 'whsec_c2VjcmV0']);
    expect(await messages.oldestPendingAgeSeconds(db)).toBeGreaterThanOrEqual(0);
    await drain();
    expect(await messages.oldestPendingAgeSeconds(db)).toBe(0);
  });
});
