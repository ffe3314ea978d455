import { randomUUID } from 'node:crypto';
import { type CommitFeedCursor, FEED_START } from '@rewards/infrastructure/persistence';
import { eq, sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase } from '../../../../test/support/databases.js';
import { sha256 } from '../../src/auth/auth.service.js';
import { refreshTokens, registrations, sessionRevocations, sessions } from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { rejection, userRow } from '../support/auth.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(SessionRepository.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    let sut: SessionRepository;
    let users: UserRepository;

    beforeAll(() => {
      sut = new SessionRepository();
      users = new UserRepository();
    });

    const db = () => ctx.database.db;

    const newUser = async () => (await users.insert(db(), userRow())).id;
    const revocationsOf = (userId: string) =>
      ctx.database.db
        .select({
          sessionId: sessionRevocations.sessionId,
          userId: sessionRevocations.userId,
          reason: sessionRevocations.reason,
        })
        .from(sessionRevocations)
        .where(eq(sessionRevocations.userId, userId))
        .orderBy(sessionRevocations.seq);
    const sessionRows = (userId: string) => ctx.database.db.select().from(sessions).where(eq(sessions.userId, userId));

    describe('open', () => {
      const refreshToken = () => ({ tokenHash: sha256(randomUUID()), expiresAt: new Date(Date.now() + 3600_000) });
      /** A statement to run alongside, leaving a trace of its own. */
      const marker = (ip: string) => sql`insert into registrations (ip) values (${ip})`;
      const markers = (ip: string) => db().select().from(registrations).where(eq(registrations.ip, ip));

      it("replaces the user's session, records the replaced one, stores the refresh token and runs the statements alongside", async () => {
        const user = await users.insert(db(), userRow({ roles: ['USER', 'AUDITOR'] }));
        const [first, second] = [randomUUID(), randomUUID()];
        const token = refreshToken();
        const ip = `open-${randomUUID()}`;

        const opened = await sut.open(db(), users.lockedRoles(user.id), {
          userId: user.id,
          sessionId: first!,
          refreshToken: refreshToken(),
        });
        const roles = await sut.open(
          db(),
          users.lockedRoles(user.id),
          { userId: user.id, sessionId: second!, refreshToken: token },
          [marker(ip), marker(ip)],
        );

        expect([opened, roles]).toEqual([
          ['USER', 'AUDITOR'],
          ['USER', 'AUDITOR'],
        ]);
        expect(await sut.current(db(), user.id)).toBe(second);
        expect(await revocationsOf(user.id)).toEqual([{ sessionId: first, userId: user.id, reason: 'replaced' }]);
        expect(await db().select().from(refreshTokens).where(eq(refreshTokens.tokenHash, token.tokenHash))).toEqual([
          { ...token, sessionId: second, userId: user.id, usedAt: null, createdAt: expect.any(Date) },
        ]);
        expect(await markers(ip)).toHaveLength(2);
      });

      it('writes nothing, alongside statements included, for a user who does not exist', async () => {
        const userId = randomUUID();
        const ip = `open-${randomUUID()}`;

        const err = await rejection(
          sut.open(db(), users.lockedRoles(userId), { userId, sessionId: randomUUID(), refreshToken: refreshToken() }, [
            marker(ip),
          ]),
        );

        expect((err as { cause?: { code?: string } }).cause?.code).toBe('23503');
        expect(await sessionRows(userId)).toEqual([]);
        expect(await markers(ip)).toEqual([]);
      });
    });

    describe('upsert', () => {
      it('creates the session of a user without one', async () => {
        const userId = await newUser();
        const sid = randomUUID();

        await sut.upsert(db(), userId, sid);

        expect(await sut.current(db(), userId)).toBe(sid);
        expect(await sut.isCurrent(db(), sid)).toBe(true);
      });

      it('replaces the session, keeping one row per user', async () => {
        const userId = await newUser();
        const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];

        await sut.upsert(db(), userId, first!);
        await sut.upsert(db(), userId, second!);
        await sut.upsert(db(), userId, third!);

        const rows = await sessionRows(userId);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.sessionId).toBe(third);
        expect(await sut.isCurrent(db(), first!)).toBe(false);
        expect(await sut.isCurrent(db(), second!)).toBe(false);
        expect(await sut.isCurrent(db(), third!)).toBe(true);
      });

      it('knows no session for a user who never signed in', async () => {
        expect(await sut.current(db(), await newUser())).toBeUndefined();
        expect(await sut.isCurrent(db(), randomUUID())).toBe(false);
      });
    });

    describe('revoke', () => {
      it('ends the current session and records the revocation with its reason', async () => {
        const userId = await newUser();
        const sid = randomUUID();
        await sut.upsert(db(), userId, sid);

        const revoked = await sut.revoke(db(), userId, 'logout');

        expect(revoked).toBe(sid);
        expect(await sut.current(db(), userId)).toBeUndefined();
        expect(await revocationsOf(userId)).toEqual([{ sessionId: sid, userId, reason: 'logout' }]);
      });

      it('ends the session only if it is the one named', async () => {
        const userId = await newUser();
        const sid = randomUUID();
        await sut.upsert(db(), userId, sid);

        expect(await sut.revoke(db(), userId, 'logout', randomUUID())).toBeUndefined();
        expect(await sut.current(db(), userId)).toBe(sid);
        expect(await revocationsOf(userId)).toEqual([]);

        expect(await sut.revoke(db(), userId, 'refresh-reuse', sid)).toBe(sid);
        expect(await revocationsOf(userId)).toEqual([{ sessionId: sid, userId, reason: 'refresh-reuse' }]);
      });

      it('records nothing when the user has no session', async () => {
        const userId = await newUser();

        expect(await sut.revoke(db(), userId, 'roles-changed')).toBeUndefined();
        expect(await revocationsOf(userId)).toEqual([]);
      });

      it('rolls back with the transaction it runs in', async () => {
        const userId = await newUser();
        const sid = randomUUID();
        await sut.upsert(db(), userId, sid);

        await ctx.database.db
          .transaction(async (tx) => {
            await sut.revoke(tx, userId, 'logout');
            throw new Error('roll back');
          })
          .catch(() => undefined);

        expect(await sut.current(db(), userId)).toBe(sid);
        expect(await revocationsOf(userId)).toEqual([]);
      });
    });

    describe('revocationFeed', () => {
      /** Revocations of fresh sessions, dated `secondsAgo` before now. */
      async function revokedAgo(...secondsAgo: number[]): Promise<string[]> {
        const userId = await newUser();
        const now = Date.now();
        const rows = secondsAgo.map((s) => ({
          sessionId: randomUUID(),
          userId,
          reason: 'logout',
          revokedAt: new Date(now - s * 1000),
        }));
        await ctx.database.db.insert(sessionRevocations).values(rows);
        return rows.map((r) => r.sessionId);
      }
      const only = (ids: string[], items: { sessionId: string }[]) =>
        items
          .map((i) => i.sessionId)
          .filter((s) => ids.includes(s))
          .sort();
      /** Polls from `from` until `sessionId` arrives; the positions it went through. */
      async function pollUntil(from: CommitFeedCursor, sessionId: string, timeoutMs: number) {
        let at = from;
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const page = await sut.revocationFeed(db(), at, 60);
          at = page.next;
          if (page.items.some((i) => i.sessionId === sessionId)) return at;
          await sleep(100);
        }
        throw new Error(`revocation ${sessionId} not delivered within ${timeoutMs} ms`);
      }

      it('returns the revocations within the window when no position is given', async () => {
        const [old, recent, newest] = await revokedAgo(100, 10, 3);

        const { items, next } = await sut.revocationFeed(db(), FEED_START, 60);

        expect(only([old!, recent!, newest!], items)).toEqual([recent!, newest!].sort());
        expect(items.every((i) => i.revokedAt instanceof Date)).toBe(true);
        expect(next).toEqual({
          seen: { xmax: expect.any(BigInt), running: expect.any(Array) },
          paging: null,
          after: null,
        });
      });

      it('hands back a position from which the next poll sees later revocations and not the ones already sent', async () => {
        const [before] = await revokedAgo(1);
        const first = await sut.revocationFeed(db(), FEED_START, 60);
        expect(only([before!], first.items)).toEqual([before!]);
        const userId = await newUser();
        const sid = randomUUID();
        await sut.upsert(db(), userId, sid);
        await sut.revoke(db(), userId, 'replaced');

        const second = await sut.revocationFeed(db(), first.next, 60);

        expect(second.items.map((i) => i.sessionId)).toContain(sid);
        expect(only([before!], second.items)).toEqual([]);
        expect(second.next.seen!.xmax).toBeGreaterThan(first.next.seen!.xmax);
      });

      it('pages a backlog without skipping: a full page continues after its last row', async () => {
        const ids = await revokedAgo(5, 4, 3, 2, 1);
        const seen: string[] = [];
        let at: CommitFeedCursor = FEED_START;
        for (let i = 0; i < 10; i++) {
          const page = await sut.revocationFeed(db(), at, 60, 2);
          seen.push(...page.items.map((r) => r.sessionId));
          at = page.next;
          if (page.items.length < 2) break;
        }
        expect(
          only(
            ids,
            seen.map((sessionId) => ({ sessionId })),
          ),
        ).toEqual([...ids].sort());
      });

      it('delivers a revocation whose transaction commits long after it began, without holding back others', async () => {
        const start = (await sut.revocationFeed(db(), FEED_START, 60)).next;
        const slowUser = await newUser();
        const slowSession = randomUUID();
        let committed = 0;
        // Stamped at the start of a transaction that stays open for 6 s (longer than any look-back).
        const slow = ctx.database.db
          .transaction(async (tx) => {
            await sut.recordRevocation(tx, slowUser, slowSession, 'replaced');
            await sleep(6000);
          })
          .then(() => (committed = Date.now()));
        await sleep(300);
        // Meanwhile a quick revocation is delivered at once.
        const quickUser = await newUser();
        const quickSession = randomUUID();
        await sut.recordRevocation(db(), quickUser, quickSession, 'logout');
        const quickAt = Date.now();
        const afterQuick = await pollUntil(start, quickSession, 2000);
        expect(Date.now() - quickAt).toBeLessThan(1000);
        expect(committed).toBe(0);

        await slow;
        await pollUntil(afterQuick, slowSession, 2000);
        expect(Date.now() - committed).toBeLessThan(1000);
      });
      /** A transaction that has recorded a revocation and stays open until `end()`. */
      async function openRevoker() {
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        let recorded!: () => void;
        const wrote = new Promise<void>((r) => (recorded = r));
        const userId = await newUser();
        const done = ctx.database.db.transaction(async (tx) => {
          await sut.recordRevocation(tx, userId, randomUUID(), 'replaced');
          recorded();
          await ended;
        });
        await wrote;
        return async () => {
          end();
          await done;
        };
      }

      it('reads nothing new while an older transaction stays open, so a held read can wait', async () => {
        const finish = await openRevoker();
        try {
          const [quick] = await revokedAgo(1);
          const first = await pollUntil(FEED_START, quick!, 2000);

          const again = await sut.revocationFeed(db(), first, 60);

          expect(again.items).toEqual([]);
        } finally {
          await finish();
        }
      });

      it('pages past a full page of revocations while an older transaction stays open', async () => {
        const finish = await openRevoker();
        try {
          const start = (await sut.revocationFeed(db(), FEED_START, 60)).next;
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) ids.push(...(await revokedAgo(1)));
          const seen: string[] = [];
          let at = start;
          for (let i = 0; i < 10; i++) {
            const page = await sut.revocationFeed(db(), at, 60, 2);
            seen.push(...page.items.map((r) => r.sessionId));
            at = page.next;
            if (page.items.length < 2) break;
          }

          expect(seen.filter((s) => ids.includes(s))).toEqual(ids);
          expect(new Set(seen).size).toBe(seen.length);
        } finally {
          await finish();
        }
      });
    });

    describe('refresh tokens', () => {
      const tokenRow = (userId: string, sessionId = randomUUID()) => ({
        tokenHash: sha256(randomUUID()),
        sessionId,
        userId,
        expiresAt: new Date('2040-01-01T00:00:00.000Z'),
      });

      it('stores a token, locks it and marks it used', async () => {
        const row = tokenRow(await newUser());
        await sut.insertRefreshToken(db(), row);

        const locked = await ctx.database.db.transaction(async (tx) => {
          const found = await sut.lockRefreshToken(tx, row.tokenHash);
          await sut.markRefreshTokenUsed(tx, row.tokenHash);
          return found;
        });

        expect(locked).toEqual({ ...row, usedAt: null, createdAt: expect.any(Date) });
        const after = await ctx.database.db.transaction((tx) => sut.lockRefreshToken(tx, row.tokenHash));
        expect(after!.usedAt).toBeInstanceOf(Date);
        expect(Math.abs(after!.usedAt!.getTime() - Date.now())).toBeLessThan(60_000);
      });

      it('finds nothing for an unknown token', async () => {
        expect(await ctx.database.db.transaction((tx) => sut.lockRefreshToken(tx, sha256('unknown')))).toBeUndefined();
      });

      it('makes a second locker wait for the first to commit, and then see its change', async () => {
        const row = tokenRow(await newUser());
        await sut.insertRefreshToken(db(), row);
        const order: string[] = [];
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        let firstLocked!: () => void;
        const locked = new Promise<void>((r) => (firstLocked = r));

        const first = ctx.database.db.transaction(async (tx) => {
          await sut.lockRefreshToken(tx, row.tokenHash);
          firstLocked();
          await released;
          await sut.markRefreshTokenUsed(tx, row.tokenHash);
          order.push('first committed');
        });
        await locked;
        const second = ctx.database.db.transaction(async (tx) => {
          const seen = await sut.lockRefreshToken(tx, row.tokenHash);
          order.push('second locked');
          return seen;
        });
        await sleep(150);
        order.push('released');
        release();
        const [, seen] = await Promise.all([first, second]);

        expect(order).toEqual(['released', 'first committed', 'second locked']);
        expect(seen!.usedAt).toBeInstanceOf(Date);
      });
    });
  });
});
