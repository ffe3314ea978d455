import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authDatabase } from '../../../../test/support/databases.js';
import { fullScansByStatement, planningConnection } from '../../../../test/support/plans.js';
import { sha256 } from '../../src/auth/auth.service.js';
import { LoginThrottleRepository } from '../../src/auth/login-throttle.repository.js';
import { OutboxRepository } from '../../src/outbox/outbox.repository.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { userRow } from '../support/auth.js';

/**
 * A login's statements (the throttle's reservation with the account's lookup, then the session with
 * the throttle's release and the LOGIN fact), planned generically on a database that has just been
 * migrated, as a new deployment's connections cache them before its tables have statistics: each
 * finds its rows by index.
 */
describe('a login’s generic plans', () => {
  const ctx = authDatabase();

  it('look up the throttle, the account and its session by index, never reading a table through', async () => {
    const users = new UserRepository();
    const throttle = new LoginThrottleRepository();
    const sessions = new SessionRepository();
    const outbox = new OutboxRepository();
    const limits = { perAccount: 5, perIp: 20, windowSeconds: 600 };
    const accounts = await Promise.all(Array.from({ length: 3 }, () => users.insert(ctx.database.db, userRow())));

    const conn = await planningConnection(ctx.url!);
    try {
      for (const account of accounts) {
        const reservation = await throttle.reserve(
          conn.db,
          account.email,
          '203.0.113.7',
          limits,
          users.credentialsByEmail(account.email),
        );
        if (typeof reservation !== 'object') throw new Error(`expected a reservation, got ${reservation}`);
        expect(reservation.found).toEqual({ id: account.id, passwordHash: account.passwordHash });
        const sessionId = randomUUID();
        const roles = await sessions.open(
          conn.db,
          users.lockedRoles(account.id),
          {
            userId: account.id,
            sessionId,
            refreshToken: { tokenHash: sha256(randomUUID()), expiresAt: new Date(Date.now() + 3_600_000) },
          },
          [
            throttle.releasing(reservation.attempt),
            outbox.addingActivity({
              id: `login:${sessionId}`,
              userId: account.id,
              type: 'LOGIN',
              occurredAt: new Date().toISOString(),
            }),
          ],
        );
        expect(roles).toEqual(['USER']);
      }

      const scans = fullScansByStatement(conn.planned);
      expect(scans.length).toBeGreaterThanOrEqual(2 * accounts.length);
      expect(scans).toEqual(scans.map(({ statement }) => ({ statement, fullScans: [] })));
    } finally {
      await conn.close();
    }
  });
});
