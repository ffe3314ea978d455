import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import type {
  Approval,
  ClaimReason,
  ClaimStatus,
  Condition,
  EventStatus,
  Repeat,
  RewardSnapshot,
  RewardType,
  WebhookDeliveryStatus,
  WebhookMessageType,
} from '@rewards/contracts';
import type { z } from 'zod';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** Timestamps the API shows, pages on or filters by: stored in milliseconds, the precision of its cursors (0002). */
const tsMs = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const events = pgTable('events', {
  id: uuid('id').primaryKey(),
  title: text('title').notNull(),
  description: text('description'),
  startsAt: ts('starts_at').notNull(),
  endsAt: ts('ends_at').notNull(),
  timezone: text('timezone').notNull(),
  status: text('status').$type<EventStatus>().notNull(),
  condition: jsonb('condition').$type<Condition>().notNull(),
  approval: text('approval').$type<z.infer<typeof Approval>>().notNull(),
  repeat: text('repeat').$type<z.infer<typeof Repeat>>().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: tsMs('created_at').notNull().defaultNow(),
  updatedAt: tsMs('updated_at').notNull().defaultNow(),
  /** Bumped by every change to the event or its rewards (triggers, 0006): a cached definition's validity. */
  version: integer('version').notNull().default(1),
});
export type EventRow = typeof events.$inferSelect;

export const rewards = pgTable('rewards', {
  id: uuid('id').primaryKey(),
  eventId: uuid('event_id').notNull(),
  type: text('type').$type<z.infer<typeof RewardType>>().notNull(),
  name: text('name').notNull(),
  itemCode: text('item_code'),
  quantity: integer('quantity').notNull(),
  stock: integer('stock'),
  createdAt: tsMs('created_at').notNull().defaultNow(),
});
/** A reward as read, with its remaining units: the sum of its stock counters, null when unlimited. */
export type RewardRow = typeof rewards.$inferSelect & { remaining: number | null };

/** A limited reward's stock, split over counters a claim reserves from one at a time (0006). */
export const rewardStock = pgTable(
  'reward_stock',
  {
    rewardId: uuid('reward_id').notNull(),
    shard: smallint('shard').notNull(),
    remaining: integer('remaining').notNull(),
  },
  (t) => [primaryKey({ columns: [t.rewardId, t.shard] })],
);

export const activities = pgTable(
  'activities',
  {
    source: text('source').notNull(),
    externalId: text('external_id').notNull(),
    userId: uuid('user_id').notNull(),
    type: text('type').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    value: doublePrecision('value'),
    attributes: jsonb('attributes'),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.source, t.externalId] })],
);

export const claims = pgTable('claims', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id').notNull(),
  eventId: uuid('event_id').notNull(),
  periodKey: text('period_key').notNull(),
  status: text('status').$type<ClaimStatus>().notNull(),
  reason: text('reason').$type<ClaimReason>(),
  note: text('note'),
  rewards: jsonb('rewards').$type<RewardSnapshot[]>().notNull(),
  createdAt: tsMs('created_at').notNull().defaultNow(),
  decidedAt: tsMs('decided_at'),
  decidedBy: text('decided_by'),
});
export type ClaimRow = typeof claims.$inferSelect;

export const grants = pgTable('grants', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id').notNull(),
  claimId: uuid('claim_id').notNull(),
  eventId: uuid('event_id').notNull(),
  rewardId: uuid('reward_id').notNull(),
  type: text('type').$type<z.infer<typeof RewardType>>().notNull(),
  name: text('name').notNull(),
  itemCode: text('item_code'),
  quantity: integer('quantity').notNull(),
  grantedAt: tsMs('granted_at').notNull().defaultNow(),
  /** The writing transaction's id (`pg_current_xact_id()`): with `seq`, the grants feed's commit-safe order. */
  txId: bigint('tx_id', { mode: 'bigint' }).notNull().default(sql`(pg_current_xact_id()::text::bigint)`),
  seq: bigserial('seq', { mode: 'bigint' }).notNull(),
});
export type GrantRow = typeof grants.$inferSelect;

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: uuid('user_id').notNull(),
    key: text('key').notNull(),
    eventId: uuid('event_id').notNull(),
    status: integer('status'),
    body: jsonb('body'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
);

export const auditLog = pgTable('audit_log', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  id: uuid('id').notNull(),
  actorId: text('actor_id'),
  action: text('action').notNull(),
  targetType: text('target_type').notNull(),
  targetId: text('target_id'),
  before: jsonb('before'),
  after: jsonb('after'),
  requestId: text('request_id'),
  at: tsMs('at').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});
export type AuditRow = typeof auditLog.$inferSelect;

/**
 * Endpoints decisions are pushed to (0005). The secret signs messages, so it is kept as is; it is shown
 * once (create, rotate) and never read back through the API. A deleted webhook stays, marked, for its history.
 */
export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey(),
  url: text('url').notNull(),
  events: text('events').array().$type<WebhookMessageType[]>().notNull(),
  description: text('description'),
  active: boolean('active').notNull(),
  secret: text('secret').notNull(),
  /** The secret before the last rotation: it signs too until `previous_secret_until`. */
  previousSecret: text('previous_secret'),
  previousSecretUntil: tsMs('previous_secret_until'),
  createdBy: text('created_by').notNull(),
  createdAt: tsMs('created_at').notNull().defaultNow(),
  updatedAt: tsMs('updated_at').notNull().defaultNow(),
  deletedAt: tsMs('deleted_at'),
});
export type WebhookRow = typeof webhooks.$inferSelect;

/** The outbox: one row per message and webhook, written in the transaction of the decision it reports (0005). */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    messageId: uuid('message_id').notNull(),
    webhookId: uuid('webhook_id').notNull(),
    type: text('type').$type<WebhookMessageType>().notNull(),
    /** The exact body sent on every attempt: `{"type","timestamp","data"}`. */
    payload: text('payload').notNull(),
    status: text('status').$type<WebhookDeliveryStatus>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: tsMs('next_attempt_at'),
    /** While an instance sends it: until then no other instance takes it. */
    leaseUntil: tsMs('lease_until'),
    lastAttemptAt: tsMs('last_attempt_at'),
    lastResponseStatus: integer('last_response_status'),
    lastError: text('last_error'),
    deliveredAt: tsMs('delivered_at'),
    createdAt: tsMs('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.webhookId, t.messageId] })],
);
export type WebhookMessageRow = typeof webhookMessages.$inferSelect;
