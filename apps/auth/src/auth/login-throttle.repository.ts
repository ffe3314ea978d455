import { Injectable } from '@nestjs/common';
import { executePrepared, rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { type SQL, sql } from 'drizzle-orm';

export interface ThrottleLimits {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
}

/** An attempt in flight. `at` is its start as the throttle rows hold it (text keeps the microseconds). */
export interface Attempt {
  email: string;
  ip: string;
  at: string;
}

/**
 * The reserved attempt, with what the caller's lookup found; `limited` when failures reached a
 * limit; `busy` when attempts in flight might.
 */
export type Reservation<T> = { attempt: Attempt; found: T | undefined } | 'limited' | 'busy';

/** A pending attempt older than this was abandoned (its process died) and no longer counts. */
const PENDING_TTL_SECONDS = 30;
/** The row of an address as a whole, beside its rows per account. */
const ADDRESS = '';

const failuresWithin = (windowSeconds: number) =>
  sql`array(select f from unnest(t.failures) f where f > now() - make_interval(secs => ${windowSeconds}))`;
const pendingFresh = sql`array(select p from unnest(t.pending) p where p > now() - make_interval(secs => ${PENDING_TTL_SECONDS}))`;
/** `t.pending` without one occurrence of `at` (another attempt may have started in the same microsecond). */
const pendingWithout = (at: string) => {
  const i = sql`array_position(t.pending, ${at}::timestamptz)`;
  return sql`case when ${i} is null then t.pending else t.pending[:${i} - 1] || t.pending[${i} + 1:] end`;
};
/**
 * The rows of an attempt, the account's before the address's. Every statement here lists them in
 * this order, so the upserts lock them in this order and two attempts never wait on each other in a cycle.
 */
const rowsOfAttempt = (email: string, ip: string, also: SQL = sql``) =>
  sql`(${ip}, ${email}${also}), (${ip}, ${ADDRESS}${also})`;

/**
 * Failed logins per (account, address) and per address, kept in the database so every auth
 * instance sees them. An account's failures count only against the address they came from: ten
 * wrong passwords from one address must not lock the owner out everywhere else.
 *
 * Checking the count and recording the failure after the password check would let a burst of
 * parallel guesses all pass the check before any is recorded. So an attempt first reserves a place
 * on its account's row and its address's row, each only while the failures within the window plus
 * the attempts in flight stay under that row's limit; a wrong password then turns the place into a
 * failure, a right one gives it up. Each row is changed by one conditional upsert, which locks the
 * row and decides on its latest version: parallel attempts on a row are ordered by that lock.
 */
@Injectable()
export class LoginThrottleRepository {
  /**
   * Reserves a place for an attempt and, in the same statement, runs `lookup` (a single-row query,
   * e.g. the account's credentials), whose row comes back as `found`. Nothing here waits longer than
   * a row lock held by another single statement.
   */
  async reserve<T>(db: Db, email: string, ip: string, limits: ThrottleLimits, lookup: SQL<T>): Promise<Reservation<T>> {
    const within = failuresWithin(limits.windowSeconds);
    const [row] = rowsOf<{ at: string; reserved: string[]; found: T | null }>(
      await executePrepared(
        db,
        sql`
        with reserved as (
          insert into login_throttle as t (ip, email, pending)
          values ${rowsOfAttempt(email, ip, sql`, array[now()]`)}
          on conflict (ip, email) do update
             set failures = ${within}, pending = ${pendingFresh} || now()
           where cardinality(${within}) + cardinality(${pendingFresh})
                 < case when t.email = ${ADDRESS} then ${limits.perIp}::int else ${limits.perAccount}::int end
          returning t.email
        ), found as (${lookup})
        select now()::text as at,
               array(select email from reserved) as reserved,
               (select row_to_json(found) from found) as found`,
      ),
    );
    const attempt = { email, ip, at: row!.at };
    if (row!.reserved.length === 2) return { attempt, found: row!.found ?? undefined };
    return this.abandon(db, attempt, row!.reserved, limits);
  }

  /** Gives up the places an attempt holds on the rows that admitted it, and tells why the other refused. */
  private async abandon(db: Db, attempt: Attempt, heldOn: string[], limits: ThrottleLimits) {
    const rows = rowsOf<{ email: string; failures: number }>(
      await db.execute(sql`
        insert into login_throttle as t (ip, email)
        values ${rowsOfAttempt(attempt.email, attempt.ip)}
        on conflict (ip, email) do update
           set pending = case when t.email = any(${sql.param(heldOn)}::text[]) then ${pendingWithout(attempt.at)} else t.pending end
        returning t.email, cardinality(${failuresWithin(limits.windowSeconds)})::int as failures`),
    );
    const limited = rows.some((r) => r.failures >= (r.email === ADDRESS ? limits.perIp : limits.perAccount));
    return limited ? 'limited' : 'busy';
  }

  /** The password was wrong: the attempt counts as a failure on both rows from now on. */
  async confirmFailure(db: Db, attempt: Attempt, limits: ThrottleLimits): Promise<void> {
    await db.execute(sql`
      insert into login_throttle as t (ip, email, failures)
      values ${rowsOfAttempt(attempt.email, attempt.ip, sql`, array[now()]`)}
      on conflict (ip, email) do update
         set pending = ${pendingWithout(attempt.at)}, failures = ${failuresWithin(limits.windowSeconds)} || now()`);
  }

  /** The attempt succeeded, or failed for a reason other than the password: it is not a failure. */
  async release(db: Db, attempt: Attempt): Promise<void> {
    await db.execute(this.releasing(attempt));
  }

  /** `release` as a statement to run inside another one (the statement that opens the session). */
  releasing(attempt: Attempt): SQL {
    return sql`
      insert into login_throttle as t (ip, email)
      values ${rowsOfAttempt(attempt.email, attempt.ip)}
      on conflict (ip, email) do update set pending = ${pendingWithout(attempt.at)}`;
  }

  /** Rows with no failure inside the window and no attempt in flight say nothing. */
  async prune(db: Db, windowSeconds: number): Promise<void> {
    await db.execute(sql`
      delete from login_throttle as t
       where cardinality(${failuresWithin(windowSeconds)}) = 0 and cardinality(${pendingFresh}) = 0`);
  }
}
