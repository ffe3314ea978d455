import { Injectable } from '@nestjs/common';
import type { Webhook } from '@rewards/contracts';
import { toPage } from '@rewards/infrastructure';
import type { Db } from '@rewards/infrastructure/persistence';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { afterCursor } from '../keyset.js';
import { webhooks, type WebhookRow } from '../schema.js';

/** A webhook as the API shows it: never its secrets. */
export const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  url: r.url,
  events: r.events,
  description: r.description,
  active: r.active,
  createdAt: r.createdAt.toISOString(),
});

/** How long the secret before a rotation still signs. */
const ROTATION_OVERLAP_HOURS = 24;

const live = (id: string) => and(eq(webhooks.id, id), isNull(webhooks.deletedAt));

@Injectable()
export class WebhookRepository {
  async insert(tx: Db, row: typeof webhooks.$inferInsert): Promise<WebhookRow> {
    const [created] = await tx.insert(webhooks).values(row).returning();
    return created!;
  }

  /** A webhook that is not deleted. */
  async find(tx: Db, id: string): Promise<WebhookRow | undefined> {
    const [row] = await tx.select().from(webhooks).where(live(id));
    return row;
  }

  /** The same, locked against concurrent changes until the transaction ends. */
  async lock(tx: Db, id: string): Promise<WebhookRow | undefined> {
    const [row] = await tx.select().from(webhooks).where(live(id)).for('update');
    return row;
  }

  /** Newest first, keyset-paged on (created_at, id); deleted webhooks are not listed. */
  async list(tx: Db, limit: number, cursor?: string) {
    const rows = await tx
      .select()
      .from(webhooks)
      .where(and(isNull(webhooks.deletedAt), afterCursor(webhooks.createdAt, webhooks.id, cursor)))
      .orderBy(desc(webhooks.createdAt), desc(webhooks.id))
      .limit(limit + 1);
    return toPage(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), toWebhook);
  }

  async update(
    tx: Db,
    id: string,
    set: Partial<Pick<WebhookRow, 'url' | 'events' | 'description' | 'active'>>,
  ): Promise<WebhookRow> {
    const [row] = await tx
      .update(webhooks)
      .set({ ...set, updatedAt: sql`now()` })
      .where(eq(webhooks.id, id))
      .returning();
    return row!;
  }

  /** A new secret; the current one keeps signing beside it for the overlap. */
  async rotateSecret(tx: Db, id: string, secret: string): Promise<WebhookRow> {
    const [row] = await tx
      .update(webhooks)
      .set({
        previousSecret: sql`${webhooks.secret}`,
        previousSecretUntil: sql`now() + make_interval(hours => ${ROTATION_OVERLAP_HOURS})`,
        secret,
        updatedAt: sql`now()`,
      })
      .where(eq(webhooks.id, id))
      .returning();
    return row!;
  }

  async softDelete(tx: Db, id: string): Promise<void> {
    await tx
      .update(webhooks)
      .set({ active: false, deletedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(webhooks.id, id));
  }
}
