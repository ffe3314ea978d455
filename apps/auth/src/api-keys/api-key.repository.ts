import { Injectable } from '@nestjs/common';
import { type Position } from '@rewards/infrastructure';
import { type Db } from '@rewards/infrastructure/persistence';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { apiKeys, type ApiKeyRow } from '../schema.js';

@Injectable()
export class ApiKeyRepository {
  async insert(tx: Db, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
    const [created] = await tx.insert(apiKeys).values(row).returning();
    return created!;
  }

  /** The key with this hash unless it is revoked (an expired key is returned: the caller decides). */
  async findActiveByHash(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
    const [row] = await db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
    return row;
  }

  async touch(db: Db, id: string): Promise<void> {
    await db.update(apiKeys).set({ lastUsedAt: sql`now()` }).where(eq(apiKeys.id, id));
  }

  /** Newest first, keyset-paged by (created_at, id); created_at is written at millisecond precision. */
  async list(db: Db, limit: number, before?: Position): Promise<ApiKeyRow[]> {
    return db
      .select()
      .from(apiKeys)
      .where(
        before
          ? sql`(${apiKeys.createdAt}, ${apiKeys.id}) < (${before.at.toISOString()}::timestamptz, ${before.id}::uuid)`
          : undefined,
      )
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
      .limit(limit + 1);
  }

  async lock(tx: Db, id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    return row;
  }

  async revoke(tx: Db, id: string, revokedBy: string): Promise<ApiKeyRow> {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()`, revokedBy })
      .where(eq(apiKeys.id, id))
      .returning();
    return row!;
  }
}
