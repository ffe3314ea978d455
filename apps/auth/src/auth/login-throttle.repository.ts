import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database } from '@rewards/infrastructure';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { loginFailures } from '../schema.js';

/** Failed logins per account and per IP, counted in the database so every auth instance sees them. */
@Injectable()
export class LoginThrottleRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async failuresSince(windowSeconds: number, by: { email: string } | { ip: string }): Promise<number> {
    const since = sql`now() - make_interval(secs => ${windowSeconds})`;
    const key = 'email' in by ? eq(loginFailures.email, by.email) : eq(loginFailures.ip, by.ip);
    const [row] = await this.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(loginFailures)
      .where(and(key, gt(loginFailures.at, since)));
    return row!.n;
  }

  async record(email: string, ip: string): Promise<void> {
    await this.database.db.insert(loginFailures).values({ email, ip });
  }

  async prune(olderThanSeconds: number): Promise<void> {
    await this.database.db.delete(loginFailures).where(lt(loginFailures.at, sql`now() - make_interval(secs => ${olderThanSeconds})`));
  }
}
