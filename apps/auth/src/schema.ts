import type { ApiKeyScope, Role } from '@rewards/contracts';
import { sql } from 'drizzle-orm';
import { bigint, bigserial, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
/** Creation times lists page on are kept at the API's precision (migration 0007): see UserRepository.list. */
const createdAtMs = () => ts('created_at').notNull().default(sql`date_trunc('milliseconds', now())`);

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  email: text('email').notNull(),
  displayName: text('display_name').notNull(),
  passwordHash: text('password_hash').notNull(),
  roles: text('roles').array().$type<Role[]>().notNull(),
  inviteCode: text('invite_code').notNull(),
  invitedBy: uuid('invited_by'),
  createdAt: createdAtMs(),
});

export const sessions = pgTable('sessions', {
  userId: uuid('user_id').primaryKey(),
  sessionId: uuid('session_id').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  /** The session this one replaced, written by the replacing upsert (see SessionRepository.open). */
  replacedSessionId: uuid('replaced_session_id'),
});

export const refreshTokens = pgTable('refresh_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  sessionId: uuid('session_id').notNull(),
  userId: uuid('user_id').notNull(),
  usedAt: ts('used_at'),
  expiresAt: ts('expires_at').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const sessionRevocations = pgTable('session_revocations', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  sessionId: uuid('session_id').notNull(),
  userId: uuid('user_id').notNull(),
  reason: text('reason').notNull(),
  revokedAt: ts('revoked_at').notNull().defaultNow(),
  /** The writing transaction's id (`pg_current_xact_id()`): the feed's commit-safe order. */
  txId: bigint('tx_id', { mode: 'number' }).notNull().default(sql`(pg_current_xact_id()::text::bigint)`),
});

export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  privateJwk: jsonb('private_jwk').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  retiredAt: ts('retired_at'),
});

export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  keyHash: text('key_hash').notNull(),
  scopes: text('scopes').array().$type<ApiKeyScope[]>().notNull(),
  expiresAt: ts('expires_at'),
  lastUsedAt: ts('last_used_at'),
  createdBy: uuid('created_by').notNull(),
  createdAt: createdAtMs(),
  revokedAt: ts('revoked_at'),
  revokedBy: uuid('revoked_by'),
});
export type ApiKeyRow = typeof apiKeys.$inferSelect;

export const registrations = pgTable('registrations', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  ip: text('ip').notNull(),
  at: ts('at').notNull().defaultNow(),
});

/**
 * Sign-in throttling per (address, account) and per address (`email` ''): the failures still inside
 * the window and the start times of attempts whose password is being checked. See LoginThrottleRepository.
 */
export const loginThrottle = pgTable(
  'login_throttle',
  {
    ip: text('ip').notNull(),
    email: text('email').notNull(),
    failures: timestamp('failures', { withTimezone: true, mode: 'date' }).array().notNull().default(sql`'{}'`),
    pending: timestamp('pending', { withTimezone: true, mode: 'date' }).array().notNull().default(sql`'{}'`),
  },
  (t) => [primaryKey({ columns: [t.ip, t.email] })],
);

export type UserRow = typeof users.$inferSelect;

export const outbox = pgTable('outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  topic: text('topic').$type<'activity' | 'audit'>().notNull(),
  payload: jsonb('payload').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  attempts: integer('attempts').notNull().default(0),
  availableAt: ts('available_at').notNull().defaultNow(),
  deliveredAt: ts('delivered_at'),
});
