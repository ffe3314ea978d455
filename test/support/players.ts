import type pg from 'pg';
// A plain ESM module shared with the benchmark; typed by the declarations below.
import * as seed from '../../scripts/lib/seed.mjs';
import type { Stack } from './stack.js';

export interface Player {
  id: string;
  email: string;
  token: string;
}

/** Players seeded straight into auth's database, with working tokens (shared with the benchmark). */
export const seedPlayers: (authDbUrl: string, count: number, prefix: string) => Promise<Player[]> = seed.seedPlayers;
export const withPg: <T>(url: string, fn: (c: pg.Client) => Promise<T>) => Promise<T> = seed.withPg;

export async function adminToken(stack: Stack): Promise<string> {
  const res = await stack.client.call('login', { body: stack.admin });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

/** One LOGIN an hour ago for each user, posted as admin in batches of 1,000. */
export async function ingestLogins(stack: Stack, token: string, userIds: string[]): Promise<void> {
  const occurredAt = new Date(Date.now() - 3_600_000).toISOString();
  for (let i = 0; i < userIds.length; i += 1000) {
    const activities = userIds
      .slice(i, i + 1000)
      .map((userId) => ({ id: `seed-login-${userId}`, userId, type: 'LOGIN', occurredAt }));
    const res = await stack.client.call('ingestActivities', { token, body: { activities } });
    if (res.status !== 202) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** An ACTIVE, auto-approved event open since yesterday whose condition one LOGIN meets, with one reward. */
export async function createLoginEvent(
  stack: Stack,
  token: string,
  opts: { title?: string; stock?: number } = {},
): Promise<string> {
  const now = Date.now();
  const created = await stack.client.call('createEvent', {
    token,
    body: {
      title: opts.title ?? 'Welcome back',
      startsAt: new Date(now - 86_400_000).toISOString(),
      endsAt: new Date(now + 86_400_000).toISOString(),
      condition: { type: 'LOGIN_DAYS', days: 1 },
      status: 'ACTIVE',
    },
  });
  if (created.status !== 201) throw new Error(`create event failed: ${created.status} ${JSON.stringify(created.body)}`);
  const eventId = created.body.event.id as string;
  const reward = await stack.client.call('createReward', {
    token,
    params: { id: eventId },
    body:
      opts.stock === undefined
        ? { type: 'POINT', name: '100 points', quantity: 100 }
        : { type: 'ITEM', name: 'Limited item', itemCode: 'LIMITED-1', quantity: 1, stock: opts.stock },
  });
  if (reward.status !== 201) throw new Error(`create reward failed: ${reward.status} ${JSON.stringify(reward.body)}`);
  return eventId;
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function inParallel<T, R>(
  concurrency: number,
  items: T[],
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Sum of `http_requests_total` samples in a Prometheus text page whose labels include all of `match`. */
export async function requestCount(serviceUrl: string, match: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^http_requests_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += Number(m[2]);
  }
  return total;
}

/** Log lines of a service parsed as JSON (non-JSON lines are skipped). */
export function jsonLogs(stack: Stack, name: string): Record<string, any>[] {
  return (stack.logs[name] ?? []).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, any>];
    } catch {
      return [];
    }
  });
}
