import { Injectable } from '@nestjs/common';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { lt, sql } from 'drizzle-orm';
import { registrations } from '../schema.js';

/** Advisory-lock class of an address's registrations (beside the sign-in throttle's classes). */
const LOCK_REGISTRATION = 71_003;
const WINDOW_SECONDS = 3600;

/**
 * Registrations per client address within the last hour, counted in the registering transaction
 * under a lock on the address, so parallel sign-ups from one address cannot all pass the count.
 * A registration that fails later (taken email) rolls back and does not count.
 */
@Injectable()
export class RegistrationLimitRepository {
  /** Records the registration, or answers how many seconds until the address may register again. */
  async admit(tx: Db, ip: string, perHour: number): Promise<{ retryAfterSeconds: number } | null> {
    await tx.execute(sql`select pg_advisory_xact_lock(${LOCK_REGISTRATION}, hashtext(${ip}))`);
    const [c] = rowsOf<{ n: number; wait: number | null }>(
      await tx.execute(sql`
        select count(*)::int as n,
               ceil(extract(epoch from min(at) + make_interval(secs => ${WINDOW_SECONDS}) - now()))::int as wait
          from registrations
         where ip = ${ip} and at > now() - make_interval(secs => ${WINDOW_SECONDS})`),
    );
    if (c!.n >= perHour) return { retryAfterSeconds: Math.max(1, c!.wait ?? 1) };
    await tx.insert(registrations).values({ ip });
    return null;
  }

  async prune(db: Db): Promise<void> {
    await db.delete(registrations).where(lt(registrations.at, sql`now() - make_interval(secs => ${WINDOW_SECONDS})`));
  }
}
