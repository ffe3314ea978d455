import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type Db } from '@rewards/infrastructure';
import { and, eq, isNull } from 'drizzle-orm';
import { apiKeys } from '../schema.js';

@Injectable()
export class ApiKeyRepository {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  async insert(row: typeof apiKeys.$inferInsert, db: Db = this.database.db) {
    const [created] = await db.insert(apiKeys).values(row).returning();
    return created!;
  }

  async findActiveByHash(keyHash: string) {
    const [row] = await this.database.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
    return row;
  }
}
