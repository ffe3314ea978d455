// Seeding players straight into auth's database, for the benchmark and the test suites that need
// hundreds or thousands of signed-in players: real logins would mostly measure argon2.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import pg from 'pg';

export const TOKEN_ISSUER = 'reward-platform/auth';
export const TOKEN_AUDIENCE = 'reward-platform';

/** Runs `fn` with one connection to `url`. */
export async function withPg(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * `count` USER accounts named `<prefix>-<n>@seed.example`, each with a current session and an
 * access token signed with auth's own key, indistinguishable from issued ones for the gateway and
 * the event service. `passwordHash` (argon2id) lets them log in too; by default they cannot.
 */
export async function seedPlayers(authDbUrl, count, prefix, passwordHash = 'not-a-password-hash') {
  return withPg(authDbUrl, async (c) => {
    const { rows: users } = await c.query(
      `insert into users (id, email, display_name, password_hash, roles, invite_code)
       select gen_random_uuid(), $1 || '-' || g || '@seed.example', 'Player ' || g, $3, '{USER}', upper($1) || lpad(g::text, 8, '0')
       from generate_series(1, $2::int) g
       returning id, email`,
      [prefix, count, passwordHash],
    );
    const { rows: sessions } = await c.query(
      `insert into sessions (user_id, session_id) select id, gen_random_uuid() from unnest($1::uuid[]) id returning user_id, session_id`,
      [users.map((u) => u.id)],
    );
    const { rows: keys } = await c.query(
      `select kid, private_jwk from signing_keys where retired_at is null order by created_at desc limit 1`,
    );
    const { kid, private_jwk } = keys[0];
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
