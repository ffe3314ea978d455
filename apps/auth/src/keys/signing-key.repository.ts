import { Injectable } from '@nestjs/common';
import { type Db } from '@rewards/infrastructure/persistence';
import { desc, isNull, sql } from 'drizzle-orm';
import { signingKeys } from '../schema.js';

export type SigningKeyRow = typeof signingKeys.$inferSelect;

@Injectable()
export class SigningKeyRepository {
  /** Serializes key creation of instances starting at once, for the rest of the transaction. */
  async lockKeyCreation(tx: Db): Promise<void> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('auth:signing-key'))`);
  }

  async hasActive(db: Db): Promise<boolean> {
    const [active] = await db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(isNull(signingKeys.retiredAt))
      .limit(1);
    return !!active;
  }

  async insert(tx: Db, row: typeof signingKeys.$inferInsert): Promise<void> {
    await tx.insert(signingKeys).values(row);
  }

  /** The keys not retired, newest first. */
  async listActive(db: Db): Promise<SigningKeyRow[]> {
    return db.select().from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt));
  }
}
