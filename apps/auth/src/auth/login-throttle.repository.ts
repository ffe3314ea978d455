import { Injectable } from '@nestjs/common';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
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
  /**
   * In a transaction of its own: the locks on the email and the IP hold until it commits, and must
   * be released before the password is checked, or every attempt would wait for the one before.
   */
  async reserve(tx: Db, email: string, ip: string, limits: ThrottleLimits): Promise<Reservation> {
    // Always the email's lock before the IP's, so two attempts never wait on each other in a cycle.
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_EMAIL}, hashtext(${email}))`);
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_IP}, hashtext(${ip}))`);
    const fresh = sql`at > now() - make_interval(secs => ${PENDING_TTL_SECONDS})`;
    const account = sql`email = ${email} and ip = ${ip}`;
    const [c] = rowsOf<{ failedByAccount: number; pendingByAccount: number; failedByIp: number; pendingByIp: number }>(
      await tx.execute(sql`
        select count(*) filter (where ${account} and not pending)::int as "failedByAccount",
               count(*) filter (where ${account} and pending and ${fresh})::int as "pendingByAccount",
               count(*) filter (where ip = ${ip} and not pending)::int as "failedByIp",
               count(*) filter (where ip = ${ip} and pending and ${fresh})::int as "pendingByIp"
          from login_failures
         where ip = ${ip} and at > now() - make_interval(secs => ${limits.windowSeconds})`),
    );
    if (c!.failedByAccount >= limits.perAccount || c!.failedByIp >= limits.perIp) return 'limited';
    const inFlightMayReach =
      c!.failedByAccount + c!.pendingByAccount >= limits.perAccount || c!.failedByIp + c!.pendingByIp >= limits.perIp;
    if (inFlightMayReach) return 'busy';
    const [row] = await tx
      .insert(loginFailures)
      .values({ email, ip, pending: true })
      .returning({ id: loginFailures.id });
    return { id: row!.id };
  }

  /** The password was wrong: the attempt counts as a failure from now on. */
  async confirmFailure(db: Db, id: number): Promise<void> {
    await db.update(loginFailures).set({ pending: false, at: sql`now()` }).where(eq(loginFailures.id, id));
  }

  /** The attempt succeeded, or failed for a reason other than the password: it is not a failure. */
  async release(db: Db, id: number): Promise<void> {
    await db.delete(loginFailures).where(eq(loginFailures.id, id));
  }

  async prune(db: Db, olderThanSeconds: number): Promise<void> {
    await db.delete(loginFailures).where(lt(loginFailures.at, sql`now() - make_interval(secs => ${olderThanSeconds})`));
  }
}
