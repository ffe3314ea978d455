import { randomBytes, randomUUID } from 'node:crypto';
import type { Condition, CreateEventBody, Event, Reward, Role } from '@rewards/contracts';
import { expect } from 'vitest';
import type { Stack } from './stack.js';

export interface Account {
  id: string;
  email: string;
  password: string;
  inviteCode: string;
  roles: Role[];
  token: string;
}

export const DAY_MS = 86_400_000;

/** Anything the contract calls an error: `{error: {code, message, details?}, requestId}`. */
export const errorBody = (code: string, message?: string, details?: unknown) => ({
  error: {
    code,
    message: message ?? expect.any(String),
    ...(details === undefined ? {} : { details }),
  },
  requestId: expect.any(String),
});

export const validationError = (details: unknown) => errorBody('VALIDATION_FAILED', 'Request is invalid', details);

export async function signIn(stack: Stack, email: string, password: string): Promise<string> {
  const res = await stack.client.call('login', { body: { email, password } });
  if (res.status !== 200) throw new Error(`login of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

export async function adminAccount(stack: Stack): Promise<Account> {
  const token = await signIn(stack, stack.admin.email, stack.admin.password);
  const me = await stack.client.call('me', { token });
  return { ...me.body.user, password: stack.admin.password, token };
}

/**
 * A registered, signed-in account. Roles other than USER are set by the admin before signing in
 * (a role change ends the user's session). Signing in records a LOGIN activity for today.
 */
export async function createAccount(
  stack: Stack,
  adminToken: string,
  opts: { roles?: Role[]; inviteCode?: string; label?: string } = {},
): Promise<Account> {
  const email = `${opts.label ?? 'player'}-${randomBytes(5).toString('hex')}@example.com`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const reg = await stack.client.call('register', {
    body: { email, password, ...(opts.inviteCode ? { inviteCode: opts.inviteCode } : {}) },
  });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${JSON.stringify(reg.body)}`);
  let user = reg.body.user;
  if (opts.roles && !(opts.roles.length === 1 && opts.roles[0] === 'USER')) {
    const set = await stack.client.call('setRoles', {
      params: { id: user.id },
      body: { roles: opts.roles },
      token: adminToken,
    });
    if (set.status !== 200) throw new Error(`setRoles failed: ${set.status} ${JSON.stringify(set.body)}`);
    user = set.body.user;
  }
  const token = await signIn(stack, email, password);
  return { ...user, password, token };
}

export const createAccounts = (
  stack: Stack,
  adminToken: string,
  n: number,
  opts: { roles?: Role[]; label?: string } = {},
) => Promise.all(Array.from({ length: n }, () => createAccount(stack, adminToken, opts)));

export async function createApiKey(
  stack: Stack,
  adminToken: string,
  name = `game-server-${randomBytes(3).toString('hex')}`,
) {
  const res = await stack.client.call('createApiKey', { body: { name }, token: adminToken });
  if (res.status !== 201) throw new Error(`createApiKey failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface ActivityInput {
  id?: string;
  userId: string;
  type: string;
  occurredAt: string;
  value?: number;
  attributes?: Record<string, unknown>;
}

/** Posts activities with an API key and checks they were all new. */
export async function postActivities(stack: Stack, apiKey: string, activities: ActivityInput[]): Promise<void> {
  const res = await stack.client.call('ingestActivities', {
    apiKey,
    body: { activities: activities.map((a) => ({ id: a.id ?? randomUUID(), ...a })) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body).toEqual({ accepted: activities.length, duplicates: 0 });
}

/** An event open for ten days either side of now, ACTIVE unless told otherwise. */
export async function createEvent(
  stack: Stack,
  token: string,
  condition: Condition,
  overrides: Partial<CreateEventBody> = {},
): Promise<Event> {
  const now = Date.now();
  const res = await stack.client.call('createEvent', {
    token,
    body: {
      title: `event ${randomBytes(3).toString('hex')}`,
      startsAt: new Date(now - 10 * DAY_MS).toISOString(),
      endsAt: new Date(now + 10 * DAY_MS).toISOString(),
      status: 'ACTIVE',
      condition,
      ...overrides,
    },
  });
  if (res.status !== 201) throw new Error(`createEvent failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.event;
}

export async function createReward(
  stack: Stack,
  token: string,
  eventId: string,
  body: {
    type: 'POINT' | 'ITEM' | 'COUPON' | 'CURRENCY';
    name: string;
    quantity: number;
    itemCode?: string;
    stock?: number | null;
  },
): Promise<Reward> {
  const res = await stack.client.call('createReward', { token, params: { id: eventId }, body });
  if (res.status !== 201) throw new Error(`createReward failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.reward;
}

/** Follows `nextCursor` to the end, checking every page's size; returns all items in order. */
export async function walk<T>(
  fetchPage: (cursor?: string) => Promise<{ status: number; body: { items: T[]; nextCursor: string | null } }>,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const res = await fetchPage(cursor);
    expect(res.status).toBe(200);
    pages++;
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...res.body.items);
    if (res.body.nextCursor === null) return { items, pages };
    expect(res.body.items.length).toBe(limit);
    cursor = res.body.nextCursor;
    if (pages > 1000) throw new Error('cursor never ends');
  }
}

// ---- calendar ---------------------------------------------------------------------------------
// Written apart from the event service's calendar on purpose: expected period keys and days must
// not come from the code under test.

/** The calendar date (`YYYY-MM-DD`) of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    instant,
  );
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** ISO-8601 week (`YYYY-Www`) of a calendar date. */
export function isoWeek(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const weekday = (new Date(t).getUTCDay() + 6) % 7;
  const thursday = new Date(t + (3 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export const SEOUL = 'Asia/Seoul';

/** Noon in Seoul, `offset` days from today's date in Seoul (use offsets < 0: the past). */
export const seoulNoon = (offset: number) => `${addDays(localDate(new Date(), SEOUL), offset)}T12:00:00+09:00`;
