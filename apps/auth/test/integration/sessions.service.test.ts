import { randomUUID } from 'node:crypto';
import { createMetrics } from '@rewards/infrastructure';
import { decodeCommitFeedCursor, openDatabase, UnitOfWork } from '@rewards/infrastructure/persistence';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, silentLogger } from '../../../../test/support/databases.js';
import { sha256 } from '../../src/auth/auth.service.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { authConfig, userRow } from '../support/auth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When a promise settled, and with what. */
const timed = <T>(promise: Promise<T>) => promise.then((value) => ({ value, at: Date.now() }));

describe(SessionsService.name, () => {
  describe('on PostgreSQL: the revocation feed as a long poll', () => {
    const ctx = authDatabase();
    const sessions = new SessionRepository();
    const users = new UserRepository();
    let sut: SessionsService;

    beforeAll(async () => {
      sut = new SessionsService(
        new UnitOfWork(ctx.database),
        sessions,
        authConfig({ AUTH_DATABASE_URL: ctx.url! }),
        silentLogger,
        createMetrics('auth'),
      );
      await sut.onModuleInit();
    });
    afterAll(async () => {
      await sut?.onModuleDestroy();
    });

    const db = () => ctx.database.db;
    /** A user with a live session, and that session's id. */
    async function signedIn(): Promise<{ userId: string; sessionId: string }> {
      const { id: userId } = await users.insert(db(), userRow());
      const sessionId = randomUUID();
      await sessions.open(db(), users.lockedRoles(userId), {
        userId,
        sessionId,
        refreshToken: { tokenHash: sha256(randomUUID()), expiresAt: new Date(Date.now() + 3600_000) },
      });
      return { userId, sessionId };
    }
    /**
     * A page with nothing to send, at or past `after`: the position is the horizon of the read's
     * snapshot, which writes elsewhere may move on meanwhile.
     */
    const expectEmptyFrom = (after: string, page: { items: unknown[]; next: string }) => {
      expect(page.items).toEqual([]);
      const [from, next] = [decodeCommitFeedCursor(after), decodeCommitFeedCursor(page.next)];
      expect(next).toEqual({ seen: expect.any(Object), paging: null, after: null });
      expect(next!.seen!.xmax).toBeGreaterThanOrEqual(from!.seen!.xmax);
    };
    /** The feed's position now, past everything already revoked. */
    const position = async () => (await sut.revocations()).next;

    it('holds a read that finds nothing until a revocation commits, then answers with it', async () => {
      const { userId, sessionId } = await signedIn();
      const after = await position();
      const asked = Date.now();
      const read = timed(sut.revocations(after, 20));
      await sleep(300);
      const revokedAt = Date.now();
      await sessions.revoke(db(), userId, 'logout', sessionId);

      const { value, at } = await read;
      expect(value.items.map((i) => i.sessionId)).toEqual([sessionId]);
      expect(at - asked).toBeGreaterThanOrEqual(300);
      expect(at - revokedAt).toBeLessThan(1000);
    });

    it('answers with nothing and the same position when no revocation commits within the wait', async () => {
      const after = await position();
      const asked = Date.now();

      const { value, at } = await timed(sut.revocations(after, 1));

      expectEmptyFrom(after, value);
      expect(at - asked).toBeGreaterThanOrEqual(950);
      expect(at - asked).toBeLessThan(2500);
    });

    it('answers at once without a wait, and at once when there is something to send', async () => {
      const after = await position();
      const asked = Date.now();
      expectEmptyFrom(after, await sut.revocations(after));
      expect(Date.now() - asked).toBeLessThan(500);

      const { userId, sessionId } = await signedIn();
      await sessions.revoke(db(), userId, 'logout', sessionId);
      const again = Date.now();
      const page = await sut.revocations(after, 20);
      expect(page.items.map((i) => i.sessionId)).toEqual([sessionId]);
      expect(Date.now() - again).toBeLessThan(500);
    });

    it('is not woken by a sign-in that replaces no session, and is by one that replaces a session', async () => {
      const after = await position();
      const read = timed(sut.revocations(after, 20));
      // A first sign-in revokes nothing: the read stays held.
      const { userId, sessionId } = await signedIn();
      const settled = await Promise.race([read.then(() => true), sleep(700).then(() => false)]);
      expect(settled).toBe(false);

      // Signing in again replaces that session: the read answers with it.
      const replacedAt = Date.now();
      await sessions.open(db(), users.lockedRoles(userId), {
        userId,
        sessionId: randomUUID(),
        refreshToken: { tokenHash: sha256(randomUUID()), expiresAt: new Date(Date.now() + 3600_000) },
      });
      const { value, at } = await read;
      expect(value.items.map((i) => i.sessionId)).toEqual([sessionId]);
      expect(at - replacedAt).toBeLessThan(1000);
    });

    it('ends held reads when the service stops, answering with what it has; a gauge tells whether it listens', async () => {
      const metrics = createMetrics('auth');
      const listening = async () =>
        (await metrics.registry.getSingleMetric('revocation_feed_listening')!.get()).values[0]!.value;
      const other = new SessionsService(
        new UnitOfWork(ctx.database),
        sessions,
        authConfig({ AUTH_DATABASE_URL: ctx.url! }),
        silentLogger,
        metrics,
      );
      expect(await listening()).toBe(0);
      await other.onModuleInit();
      expect(await listening()).toBe(1);
      const after = await position();
      const read = timed(other.revocations(after, 20));
      await sleep(200);
      const stoppedAt = Date.now();
      await other.onModuleDestroy();

      const { value, at } = await read;
      expectEmptyFrom(after, value);
      expect(at - stoppedAt).toBeLessThan(1000);
      expect(await listening()).toBe(0);
    });

    it('answers a held read from what it read when the service stops, without going back to the database', async () => {
      // As at shutdown: the database closes with the server, right after the service stops.
      const own = await openDatabase({ url: ctx.url!, poolSize: 2, logger: silentLogger });
      const other = new SessionsService(
        new UnitOfWork(own),
        sessions,
        authConfig({ AUTH_DATABASE_URL: ctx.url! }),
        silentLogger,
        createMetrics('auth'),
      );
      await other.onModuleInit();
      const after = await position();
      const read = other.revocations(after, 20);
      await sleep(200);
      await own.close();
      await other.onModuleDestroy();

      expectEmptyFrom(after, await read);
    });
  });
});
