import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createMetrics } from '@rewards/infrastructure';
import { type Db, rowsOf, UnitOfWork } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { loadEventConfig } from '../../src/config.js';
import { WebhookDeliveryWorker } from '../../src/webhooks/webhook-delivery.worker.js';
import { WebhookMessageRepository } from '../../src/webhooks/webhook-message.repository.js';
import { WebhookRepository } from '../../src/webhooks/webhook.repository.js';

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The outbox as the worker uses it, counting its polls (each poll is one lease statement). */
class CountingMessages extends WebhookMessageRepository {
  polls: number[] = [];
  override lease(...args: Parameters<WebhookMessageRepository['lease']>) {
    this.polls.push(Date.now());
    return super.lease(...args);
  }
}

describe(WebhookDeliveryWorker.name, () => {
  let t: TestDatabase;
  let db: Db;
  let receiver: Server;
  let receiverUrl: string;
  /** When each attempt reached the receiver, and what it answered. */
  let attempts: { at: number; status: number }[] = [];
  let failFirst = 0;
  let worker: WebhookDeliveryWorker | undefined;

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    db = t.database.db;
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = failFirst-- > 0 ? 500 : 204;
        attempts.push({ at: Date.now(), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    attempts = [];
    failFirst = 0;
  });
  afterAll(async () => {
    receiver?.close();
    await t?.dispose();
  });

  /** A new active webhook on the receiver, subscribed to claim.approved; its id. */
  async function subscribed(): Promise<string> {
    const id = randomUUID();
    await new WebhookRepository().insert(db, {
      id,
      url: receiverUrl,
      events: ['claim.approved'],
      active: true,
      secret: 'whsec_c2VjcmV0',
      createdBy: 'tester',
    });
    return id;
  }

  function start(messages: WebhookMessageRepository): WebhookDeliveryWorker {
    const config = loadEventConfig({
      NODE_ENV: 'test',
      INTERNAL_SECRET: 'worker-test-internal-secret-0123456789abcdef',
      EVENT_DATABASE_URL: t.url,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_SCHEDULE: '1,1',
    });
    worker = new WebhookDeliveryWorker(new UnitOfWork(t.database), messages, config, createMetrics('event'));
    worker.start();
    return worker;
  }

  it('polls less and less while nothing is due: about once a second after the first few', async () => {
    const messages = new CountingMessages();
    start(messages);
    await sleep(1600); // 200, 400, 800 ms apart, then 1 s
    const from = messages.polls.length;
    await sleep(3000);

    const polls = messages.polls.length - from;
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(4);
    // A decision committed on this instance is sent at once, idle or not.
    const webhookId = await subscribed();
    await messages.insertOne(db, { messageId: randomUUID(), webhookId, type: 'claim.approved', payload: '{}' });
    const committed = Date.now();
    worker!.wake();
    await expect.poll(() => attempts.length, { timeout: 2000, interval: 10 }).toBe(1);
    expect(attempts[0]!.at - committed).toBeLessThan(500);
    await db.execute(sql`update webhooks set active = false where id = ${webhookId}`);
  });

  it('sends a retry when it comes due, though idle polls are a second apart', async () => {
    const messages = new CountingMessages();
    start(messages);
    await sleep(1600);
    const webhookId = await subscribed();
    const messageId = randomUUID();
    await messages.insertOne(db, { messageId, webhookId, type: 'claim.approved', payload: '{}' });
    failFirst = 1;
    worker!.wake();

    await expect.poll(() => attempts.length, { timeout: 4000, interval: 10 }).toBe(2);
    expect(attempts.map((a) => a.status)).toEqual([500, 204]);
    // Due 1 s (plus up to 10 % jitter) after the failure; sent within a poll's gathering of that.
    const gap = attempts[1]!.at - attempts[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(1400);
    await expect
      .poll(async () => {
        const [row] = rowsOf<{ status: string; attempts: number }>(
          await db.execute(sql`select status, attempts from webhook_messages where message_id = ${messageId}`),
        );
        return row;
      })
      .toEqual({ status: 'DELIVERED', attempts: 2 });
    await db.execute(sql`update webhooks set active = false where id = ${webhookId}`);
  });
});
