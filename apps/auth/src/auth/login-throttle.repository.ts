import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, rowsOf, type Database } from '@rewards/infrastructure/persistence';
import { eq, lt, sql } from 'drizzle-orm';
import { loginFailures } from '../schema.js';

export interface ThrottleLimits {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
}

/** The reserved attempt's id; `limited` when failures reached a limit; `busy` when attempts in flight might. */
export type Reservation = { id: number } | 'limited' | 'busy';

/** Advisory-lock classes, so an email's lock and an IP's lock never collide. */
const LOCK_EMAIL = 71_001;
const LOCK_IP = 71_002;
/** A pending attempt older than this was abandoned (its process died) and no longer counts. */
const PENDING_TTL_SECONDS = 30;

/**
 * Failed logins per (account, address) and per address, counted in the database so every auth
 * instance sees them. An account's failures count only against the address they came from: ten
 * wrong passwords from one address must not lock the owner out everywhere else.
 *
 * Checking the count and recording the failure after the password check would let a burst of
 * parallel guesses all pass the check before any is recorded. So an attempt first reserves a
 * pending row, under locks on its email and IP, and only while confirmed failures plus attempts in
 * flight stay under the limit; a wrong password then confirms the row, a right one deletes it.
 */
@Injectable()
export class LoginThrottleRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async reserve(email: string, ip: string, limits: ThrottleLimits): Promise<Reservation> {
    return this.database.db.transaction(async (tx) => {
      // Always the email's lock before the IP's, so two attempts never wait on each other in a cycle.
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_EMAIL}, hashtext(${email}))`);
      await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_IP}, hashtext(${ip}))`);
      const fresh = sql`at > now() - make_interval(secs => ${PENDING_TTL_SECONDS})`;
      const [c] = rowsOf<{ failedByAccount: number; pendingByAccount: number; failedByIp: number; pendingByIp: number }>(
        await tx.execute(sql`
          select count(*) filter (where email = ${email} and ip = ${ip} and not pending)::int as "failedByAccount",
                 count(*) filter (where email = ${email} and ip = ${ip} and pending and ${fresh})::int as "pendingByAccount",
                 count(*) filter (where ip = ${ip} and not pending)::int as "failedByIp",
                 count(*) filter (where ip = ${ip} and pending and ${fresh})::int as "pendingByIp"
            from login_failures
           where ip = ${ip} and at > now() - make_interval(secs => ${limits.windowSeconds})`),
      );
      if (c!.failedByAccount >= limits.perAccount || c!.failedByIp >= limits.perIp) return 'limited';
      if (c!.failedByAccount + c!.pendingByAccount >= limits.perAccount || c!.failedByIp + c!.pendingByIp >= limits.perIp) {
        return 'busy';
      }
      const [row] = await tx.insert(loginFailures).values({ email, ip, pending: true }).returning({ id: loginFailures.id });
      return { id: row!.id };
    });
  }

  /** The password was wrong: the attempt counts as a failure from now on. */
  async confirmFailure(id: number): Promise<void> {
    await this.database.db.update(loginFailures).set({ pending: false, at: sql`now()` }).where(eq(loginFailures.id, id));
  }

  /** The attempt succeeded, or failed for a reason other than the password: it is not a failure. */
  async release(id: number): Promise<void> {
    await this.database.db.delete(loginFailures).where(eq(loginFailures.id, id));
  }

  async prune(olderThanSeconds: number): Promise<void> {
    await this.database.db.delete(loginFailures).where(lt(loginFailures.at, sql`now() - make_interval(secs => ${olderThanSeconds})`));
  }
}
