import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, silentLogger } from '../../../../test/support/databases.js';
import { OutboxRelay } from '../../src/outbox/outbox.relay.js';
import { OutboxRepository } from '../../src/outbox/outbox.repository.js';
import { outbox } from '../../src/schema.js';
import { authConfig, tag } from '../support/auth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(OutboxRelay.name, () => {
  describe('on PostgreSQL, delivering to an HTTP receiver', () => {
    const ctx = authDatabase();
    /** The activity ids of each POST the receiver took, in arrival order. */
    const posts: string[][] = [];
    let server: Server;
    let url: string;

    beforeAll(async () => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as { activities: { id: string }[] };
          posts.push(body.activities.map((a) => a.id));
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const address = server.address() as { port: number };
      url = `http://127.0.0.1:${address.port}`;
    });

    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it('carries the logins committed within a moment in one delivery, each exactly once', async () => {
      const uow = new UnitOfWork(ctx.database);
      const repo = new OutboxRepository();
      const sut = new OutboxRelay(uow, repo, authConfig({ EVENT_SERVICE_URL: [url] }), silentLogger);
      sut.onApplicationBootstrap();
      try {
        await sut.drain();
        posts.length = 0;
        const ids = Array.from({ length: 12 }, () => `login:${tag()}`);

        // Twelve commits over about 120 ms, each kicking the relay, as logins arrive under load.
        const started = Date.now();
        for (const id of ids) {
          await repo.addActivity(uow.db, {
            id,
            userId: randomUUID(),
            type: 'LOGIN',
            occurredAt: new Date().toISOString(),
          });
          sut.kick();
          await sleep(10);
        }
        const elapsed = Date.now() - started;
        for (let i = 0; i < 50 && posts.flat().length < ids.length; i++) await sleep(20);
        await sleep(300);

        // Each once, and together: one delivery per 100 ms gathering (and one for the commits made while
        // the last was on its way), not one per kick.
        expect(posts.flat().sort()).toEqual([...ids].sort());
        expect(posts.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
        const rows = await ctx.database.db.select().from(outbox).where(isNull(outbox.deliveredAt));
        expect(rows).toEqual([]);
      } finally {
        sut.onModuleDestroy();
      }
    });
  });
});
