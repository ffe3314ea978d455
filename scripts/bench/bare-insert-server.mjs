// The floor under every claim: a bare Fastify route doing one insert into PostgreSQL.
import Fastify from 'fastify';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 16) });
await pool.query('create table if not exists bench_bare (id uuid primary key, at timestamptz not null)');
const app = Fastify();
app.post('/insert', async () => {
  const { rows } = await pool.query('insert into bench_bare (id, at) values (gen_random_uuid(), now()) returning id');
  return { id: rows[0].id };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});
