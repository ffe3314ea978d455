import { Injectable } from '@nestjs/common';
import type { Grant } from '@rewards/contracts';
import { type CommitFeedCursor, type Db, readCommitFeed } from '@rewards/infrastructure/persistence';
import { sql } from 'drizzle-orm';

@Injectable()
export class GrantsFeedRepository {
  /**
   * The grants a reader at `from` has not had, in the order their transactions became visible (see
   * `readCommitFeed`): every committed grant exactly once to a reader that passes `next` back, and
   * a transaction that stays open holds back no grant but its own.
   */
  async feed(db: Db, from: CommitFeedCursor, limit: number, userId?: string) {
    const { rows, next } = await readCommitFeed<{
      id: string;
      user_id: string;
      claim_id: string;
      event_id: string;
      reward_id: string;
      type: Grant['type'];
      name: string;
      item_code: string | null;
      quantity: number;
      granted_at: string;
    }>(
      db,
      {
        from: sql`grants`,
        columns: sql`id, user_id, claim_id, event_id, reward_id, type, name, item_code, quantity,
          to_char(granted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as granted_at`,
        tx: sql`tx_id`,
        seq: sql`seq`,
        where: userId ? sql`user_id = ${userId}::uuid` : undefined,
      },
      from,
      limit,
    );
    const items: Grant[] = rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      claimId: r.claim_id,
      eventId: r.event_id,
      rewardId: r.reward_id,
      type: r.type,
      name: r.name,
      itemCode: r.item_code,
      quantity: r.quantity,
      grantedAt: r.granted_at,
    }));
    return { items, next };
  }
}
