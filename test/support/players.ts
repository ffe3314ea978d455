import { randomUUID } from 'node:crypto';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@rewards/contracts';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';
import type { Stack } from './stack.js';

export interface Player {
  id: string;
  email: string;
  token: string;
}

/** Runs `fn` with one connection to `url`. */
export async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Players written straight into auth's database, each with a current session and an access token
 * signed with auth's own key: a thousand real logins would mostly measure argon2. The tokens are
 * indistinguishable from issued ones for the gateway and the event service.
 */
export async function seedPlayers(authDbUrl: string, count: number, prefix: string): Promise<Player[]> {
  return withPg(authDbUrl, async (c) => {
    const { rows: users } = await c.query<{ id: string; email: string }>(
      `insert into users (id, email, display_name, password_hash, roles, invite_code)
       select gen_random_uuid(), $1 || '-' || g || '@seed.example', 'Player ' || g, 'not-a-password-hash', '{USER}',
              upper($1) || lpad(g::text, 8, '0')
       from generate_series(1, $2::int) g
       returning id, email`,
      [prefix, count],
    );
    const { rows: sessions } = await c.query<{ user_id: string; session_id: string }>(
      `insert into sessions (user_id, session_id)
       select id, gen_random_uuid() from unnest($1::uuid[]) id
       returning user_id, session_id`,
      [users.map((u) => u.id)],
    );
    const { rows: keys } = await c.query<{ kid: string; private_jwk: Record<string, unknown> }>(
      `select kid, private_jwk from signing_keys where retired_at is null order by created_at desc limit 1`,
    );
    const { kid, private_jwk } = keys[0]!;
    const key = await importJWK(private_jwk, 'ES256');
    const sid = new Map(sessions.map((s) => [s.user_id, s.session_id]));
    return Promise.all(
      users.map(async (u) => ({
        id: u.id,
        email: u.email,
        token: await new SignJWT({ roles: ['USER'], sid: sid.get(u.id) })
          .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
          .setIssuer(TOKEN_ISSUER)
          .setAudience(TOKEN_AUDIENCE)
          .setSubject(u.id)
          .setJti(randomUUID())
          .setIssuedAt()
          .setExpirationTime('2h')
          .sign(key),
      })),
    );
  });
}

export async function adminToken(stack: Stack): Promise<string> {
  const res = await stack.client.call('login', { body: stack.admin });
  if (res.status !== 200) throw new Error(`admin login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.accessToken;
}

/** One LOGIN an hour ago for each user, posted as admin in batches of 1,000. */
export async function ingestLogins(stack: Stack, token: string, userIds: string[]): Promise<void> {
  const occurredAt = new Date(Date.now() - 3_600_000).toISOString();
  for (let i = 0; i < userIds.length; i += 1000) {
    const activities = userIds.slice(i, i + 1000).map((userId) => ({ id: `seed-login-${userId}`, userId, type: 'LOGIN', occurredAt }));
    const res = await stack.client.call('ingestActivities', { token, body: { activities } });
    if (res.status !== 202) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** An ACTIVE, auto-approved event open since yesterday whose condition one LOGIN meets, with one reward. */
export async function createLoginEvent(stack: Stack, token: string, opts: { title?: string; stock?: number } = {}): Promise<string> {
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
export async function inParallel<T, R>(concurrency: number, items: T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
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
