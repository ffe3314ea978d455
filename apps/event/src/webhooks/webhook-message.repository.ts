import { Injectable } from '@nestjs/common';
import type { Claim, WebhookDelivery, WebhookDeliveryStatus, WebhookMessageType } from '@rewards/contracts';
import { toPage } from '@rewards/infrastructure';
import { rowsOf, type Db } from '@rewards/infrastructure/persistence';
import { and, desc, eq, lt, type SQL, sql } from 'drizzle-orm';
import { afterCursor } from '../keyset.js';
import { webhookMessages, type WebhookMessageRow } from '../schema.js';

export const toDelivery = (r: WebhookMessageRow): WebhookDelivery => ({
  messageId: r.messageId,
  type: r.type,
  status: r.status,
  attempts: r.attempts,
  lastAttemptAt: r.lastAttemptAt?.toISOString() ?? null,
  lastResponseStatus: r.lastResponseStatus,
  lastError: r.lastError,
  nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
  deliveredAt: r.deliveredAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
});

/** A claim decision to announce: its message id, type and time, the claim as the API shows it. */
export interface ClaimMessage {
  messageId: string;
  type: Exclude<WebhookMessageType, 'webhook.test'>;
  timestamp: string;
  claim: Claim;
}

/** A message leased for sending, with what signing and sending it needs. */
export interface LeasedMessage {
  messageId: string;
  webhookId: string;
  payload: string;
  /** Attempts so far, this one included: also the lease's identity (each lease counts one). */
  attempts: number;
  url: string;
  /** The secrets that sign: the current one, and the one before it during a rotation's overlap. */
  secrets: string[];
}

/** What one attempt came to, as the worker writes it back. */
export interface Outcome {
  webhookId: string;
  messageId: string;
  attempts: number;
  delivered: boolean;
  /** After a failure: null when that was the last attempt (FAILED), else the wait before the next. */
  retryInMs: number | null;
  responseStatus: number | null;
  error: string | null;
}

/**
 * Grants in the API's `Grant` shape (see `toGrant`), in SQL: `rows` is a from-item of grant rows
 * named `g`. Messages are written by one statement, which reads them only when a subscribed webhook exists.
 */
const grantsJson = (rows: SQL) => sql`(
  select coalesce(json_agg(json_build_object(
    'id', g.id, 'userId', g.user_id, 'claimId', g.claim_id, 'eventId', g.event_id, 'rewardId', g.reward_id,
    'type', g.type, 'name', g.name, 'itemCode', g.item_code, 'quantity', g.quantity,
    'grantedAt', to_char(g.granted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  ) order by g.granted_at, g.id), '[]'::json)
  from ${rows})`;

/**
 * One decision's message as a from-item row named `m`, the shape `subscriberMessages` reads:
 * message_id, type, ts (its timestamp), claim (the claim as JSON, its text kept) and claim_id.
 */
export const messageRow = (msg: ClaimMessage): SQL => sql`(
  select ${msg.messageId}::uuid as message_id, ${msg.type}::text as type, ${msg.timestamp}::text as ts,
         ${JSON.stringify(msg.claim)}::json as claim, ${msg.claim.id}::uuid as claim_id) m`;

/**
 * The statement writing each decision's message in `messages` (a from-item of rows named `m`, see
 * `messageRow`) for every active webhook subscribed to its type (with no subscriber it reads the few
 * webhook rows and writes nothing). The body is built here, `{"type","timestamp","data"}` in that
 * order, and sent as is on every attempt; `claim.approved` carries the claim's grants, read from
 * `grants` (a from-item of grant rows named `g`). `when` gates the whole insert, for use inside a
 * larger statement. Every path that announces a decision writes its messages with this.
 */
export function subscriberMessages(messages: SQL, grants: SQL, when: SQL = sql`true`): SQL {
  const ofClaim = grantsJson(sql`${grants} where g.claim_id = m.claim_id`);
  return sql`
    insert into webhook_messages (message_id, webhook_id, type, payload, next_attempt_at)
    select m.message_id, w.id, m.type,
           json_build_object('type', m.type, 'timestamp', m.ts, 'data',
             case when m.type = 'claim.approved' then json_build_object('claim', m.claim, 'grants', ${ofClaim})
                  else json_build_object('claim', m.claim) end)::text,
           now()
    from ${messages}
    join webhooks w on w.active and w.deleted_at is null and m.type = any(w.events)
    where ${when}`;
}

const rowCount = (result: unknown): number => (result as { rowCount: number | null }).rowCount ?? 0;

/** The outbox of webhook messages: one row per (message, webhook). */
@Injectable()
export class WebhookMessageRepository {
  /** A claim decision's messages (see `subscriberMessages`), its grants already written. Returns the rows written. */
  async insertForSubscribers(tx: Db, m: ClaimMessage): Promise<number> {
    return rowCount(await tx.execute(subscriberMessages(messageRow(m), sql`grants g`)));
  }

  /** One message for one webhook (a test message), due now. */
  async insertOne(
    tx: Db,
    m: { messageId: string; webhookId: string; type: WebhookMessageType; payload: string },
  ): Promise<void> {
    await tx.insert(webhookMessages).values({
      ...m,
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: sql`now()`,
    });
  }

  /**
   * Leases due messages of active webhooks, at most `caps[webhook]` (else `perWebhook`) of each and
   * `total` in all, oldest due first, for `leaseSeconds`: one statement that commits at once, so no
   * transaction stays open while they are sent. Rows another instance is leasing are skipped, not
   * waited for; a lease that runs out (its instance died) makes the message due again. Each lease
   * counts as an attempt.
   */
  async lease(
    db: Db,
    o: { caps: Record<string, number>; perWebhook: number; total: number; leaseSeconds: number },
  ): Promise<LeasedMessage[]> {
    const rows = rowsOf<{
      message_id: string;
      webhook_id: string;
      payload: string;
      attempts: number;
      url: string;
      secret: string;
      previous_secret: string | null;
    }>(
      await db.execute(sql`
        with due as (
          select d.webhook_id, d.message_id
          from webhooks w
          cross join lateral (
            select m.webhook_id, m.message_id, m.next_attempt_at
            from webhook_messages m
            where m.webhook_id = w.id and m.status = 'PENDING' and m.next_attempt_at <= now()
              and (m.lease_until is null or m.lease_until <= now())
            order by m.next_attempt_at
            limit greatest(0, coalesce((${JSON.stringify(o.caps)}::jsonb ->> w.id::text)::int, ${o.perWebhook}::int))
            for update of m skip locked
          ) d
          where w.active and w.deleted_at is null
          order by d.next_attempt_at
          limit ${o.total}::int
        )
        update webhook_messages m
        set lease_until = now() + make_interval(secs => ${o.leaseSeconds}::int),
            attempts = m.attempts + 1,
            last_attempt_at = now()
        from due, webhooks w
        where m.webhook_id = due.webhook_id and m.message_id = due.message_id and w.id = m.webhook_id
        returning m.message_id, m.webhook_id, m.payload, m.attempts, w.url, w.secret,
                  case when w.previous_secret_until > now() then w.previous_secret end as previous_secret`),
    );
    return rows.map((r) => ({
      messageId: r.message_id,
      webhookId: r.webhook_id,
      payload: r.payload,
      attempts: r.attempts,
      url: r.url,
      secrets: r.previous_secret ? [r.secret, r.previous_secret] : [r.secret],
    }));
  }

  /**
   * Writes attempts' outcomes back, in one statement. A delivery always counts; a failure only while
   * the message is still PENDING under the same lease (the attempt count), so a late answer from an
   * instance whose lease ran out never reschedules a message another instance has taken since.
   * Returns the milliseconds until the earliest retry it scheduled (null: none).
   */
  async recordOutcomes(db: Db, outcomes: Outcome[]): Promise<number | null> {
    if (outcomes.length === 0) return null;
    const rows = outcomes.map((o) => ({
      webhook_id: o.webhookId,
      message_id: o.messageId,
      attempts: o.attempts,
      delivered: o.delivered,
      retry_in_ms: o.retryInMs,
      response_status: o.responseStatus,
      error: o.error,
    }));
    const [row] = rowsOf<{ due_in_ms: number | null }>(
      await db.execute(sql`
        with recorded as (
          update webhook_messages m
          set status = case when o.delivered then 'DELIVERED' when o.retry_in_ms is null then 'FAILED' else 'PENDING' end,
              delivered_at = case when o.delivered then now() end,
              next_attempt_at = case when not o.delivered and o.retry_in_ms is not null
                                     then now() + o.retry_in_ms * interval '1 millisecond' end,
              lease_until = null,
              last_response_status = o.response_status,
              last_error = o.error
          from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as o(
            webhook_id uuid, message_id uuid, attempts int, delivered boolean, retry_in_ms int, response_status int,
            error text)
          where m.webhook_id = o.webhook_id and m.message_id = o.message_id
            and (o.delivered or (m.status = 'PENDING' and m.attempts = o.attempts))
          returning m.status, m.next_attempt_at
        )
        select round(extract(epoch from min(next_attempt_at) - now()) * 1000)::int as due_in_ms
        from recorded where status = 'PENDING'`),
    );
    return row?.due_in_ms ?? null;
  }

  /** Gives back leases this instance took but did not use (it is stopping): due again at once, for any instance. */
  async release(db: Db, leased: Pick<LeasedMessage, 'webhookId' | 'messageId' | 'attempts'>[]): Promise<void> {
    if (leased.length === 0) return;
    const rows = leased.map((l) => ({ webhook_id: l.webhookId, message_id: l.messageId, attempts: l.attempts }));
    await db.execute(sql`
      update webhook_messages m
      set lease_until = null, attempts = m.attempts - 1
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as o(webhook_id uuid, message_id uuid, attempts int)
      where m.webhook_id = o.webhook_id and m.message_id = o.message_id and m.attempts = o.attempts
        and m.status = 'PENDING'`);
  }

  /** A webhook's message, locked until the transaction ends. */
  async lock(tx: Db, webhookId: string, messageId: string): Promise<WebhookMessageRow | undefined> {
    const [row] = await tx
      .select()
      .from(webhookMessages)
      .where(and(eq(webhookMessages.webhookId, webhookId), eq(webhookMessages.messageId, messageId)))
      .for('update');
    return row;
  }

  /** A message sent again now, whatever its status: PENDING and due, with no lease. */
  async retryNow(tx: Db, webhookId: string, messageId: string): Promise<WebhookMessageRow> {
    const [row] = await tx
      .update(webhookMessages)
      .set({ status: 'PENDING', nextAttemptAt: sql`now()`, leaseUntil: null, deliveredAt: null })
      .where(and(eq(webhookMessages.webhookId, webhookId), eq(webhookMessages.messageId, messageId)))
      .returning();
    return row!;
  }

  /** A deleted webhook's pending messages: never sent now. */
  async failPending(tx: Db, webhookId: string, reason: string): Promise<void> {
    await tx
      .update(webhookMessages)
      .set({ status: 'FAILED', nextAttemptAt: null, leaseUntil: null, lastError: reason })
      .where(and(eq(webhookMessages.webhookId, webhookId), eq(webhookMessages.status, 'PENDING')));
  }

  /** Newest first, keyset-paged on (created_at, message_id). */
  async list(tx: Db, webhookId: string, f: { status?: WebhookDeliveryStatus; limit: number; cursor?: string }) {
    const rows = await tx
      .select()
      .from(webhookMessages)
      .where(
        and(
          eq(webhookMessages.webhookId, webhookId),
          f.status ? eq(webhookMessages.status, f.status) : undefined,
          afterCursor(webhookMessages.createdAt, webhookMessages.messageId, f.cursor),
        ),
      )
      .orderBy(desc(webhookMessages.createdAt), desc(webhookMessages.messageId))
      .limit(f.limit + 1);
    return toPage(rows, f.limit, (r) => ({ at: r.createdAt, id: r.messageId }), toDelivery);
  }

  /** Seconds since the oldest pending message was written; 0 when none is pending. */
  async oldestPendingAgeSeconds(db: Db): Promise<number> {
    const [row] = rowsOf<{ age: number | null }>(
      await db.execute(sql`
        select extract(epoch from now() - min(created_at))::float8 as age
        from webhook_messages where status = 'PENDING'`),
    );
    return Math.max(0, row?.age ?? 0);
  }

  /** Delivered and failed messages older than the retention go. */
  async prune(db: Db, olderThanDays: number): Promise<void> {
    await db
      .delete(webhookMessages)
      .where(
        and(
          sql`${webhookMessages.status} <> 'PENDING'`,
          lt(webhookMessages.createdAt, sql`now() - make_interval(days => ${olderThanDays})`),
        ),
      );
  }
}
