// The floor under every login: a bare Fastify route that does what no login can skip. POST /login
// reads the account's hash by email, verifies the password with argon2id, and inserts a session row;
// POST /verify only verifies ARGON2_HASH (no database), the floor of any argon2id route over HTTP.
// Run with the auth service's UV_THREADPOOL_SIZE, so the hashes run on as many threads.
import { verify } from '@node-rs/argon2';
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 8) });
await pool.query(
  'create table if not exists bench_bare_sessions (session_id uuid primary key, user_id uuid not null, at timestamptz not null)',
);
const app = Fastify();
app.post('/login', async (req, reply) => {
  const { email, password } = req.body;
  const { rows } = await pool.query('select id, password_hash from users where email = $1', [email]);
  if (!rows[0] || !(await verify(rows[0].password_hash, password))) return reply.code(401).send({ ok: false });
  const session = await pool.query(
    'insert into bench_bare_sessions (session_id, user_id, at) values (gen_random_uuid(), $1, now()) returning session_id',
    [rows[0].id],
  );
  return { sessionId: session.rows[0].session_id };
});
app.post('/verify', async (req, reply) => {
  if (!(await verify(process.env.ARGON2_HASH, req.body.password))) return reply.code(401).send({ ok: false });
  return { ok: true };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});
