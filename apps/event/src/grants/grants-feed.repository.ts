import { Injectable } from '@nestjs/common';
import type { Grant } from '@rewards/contracts';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { and, asc, eq, sql } from 'drizzle-orm';
import { grants } from '../schema.js';

/** A place in the grants feed: (writing transaction id, row sequence), as decimal strings (bigint). */
export interface FeedPosition {
  tx: string;
  seq: string;
}

@Injectable()
export class GrantsFeedRepository {
  /**
   * The grants after `from` in (transaction id, sequence) order, only of transactions that have
   * finished: the oldest transaction still running (the snapshot's xmin) is read first, in a
   * statement of its own, and only grants of older transactions are returned. Every transaction
   * below xmin has ended, and a transaction still running or yet to start gets an id at or above
   * it, so no grant can ever appear at or before a returned one later: a reader continuing after
   * the last returned grant skips nothing, however late a transaction commits, and sees nothing twice.
   * Returns the position of the last grant returned, or `from` when none is new.
   */
  async feed(db: Db, from: FeedPosition, limit: number, userId?: string) {
    const [snap] = rowsOf<{ xmin: string }>(
      await db.execute(sql`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`),
    );
    const rows = await db
      .select({
        id: grants.id,
        userId: grants.userId,
        claimId: grants.claimId,
        eventId: grants.eventId,
        rewardId: grants.rewardId,
        type: grants.type,
        name: grants.name,
        itemCode: grants.itemCode,
        quantity: grants.quantity,
        grantedAt: grants.grantedAt,
        tx: sql<string>`${grants.txId}::text`,
        seq: sql<string>`${grants.seq}::text`,
      })
      .from(grants)
      .where(
        and(
          sql`${grants.txId} < ${snap!.xmin}::bigint`,
          sql`(${grants.txId}, ${grants.seq}) > (${from.tx}::bigint, ${from.seq}::bigint)`,
          userId ? eq(grants.userId, userId) : undefined,
        ),
      )
      .orderBy(asc(grants.txId), asc(grants.seq))
      .limit(limit);
    const last = rows.at(-1);
    const items: Grant[] = rows.map(({ tx: _tx, seq: _seq, grantedAt, ...g }) => ({
      ...g,
      grantedAt: grantedAt.toISOString(),
    }));
    return { items, next: last ? { tx: last.tx, seq: last.seq } : from };
  }
}
