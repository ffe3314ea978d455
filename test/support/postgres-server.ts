import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../scripts/lib/embedded-postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's embedded server (started when TEST_DATABASE_URL is unset), for the fault test that restarts it. */
    embeddedPostgres: { dataDir: string; port: number } | null;
    /** The server the suites run on. */
    testDatabaseUrl: string;
  }
}

type Server = Awaited<ReturnType<typeof startEmbeddedPostgres>>;
interface Shared {
  server: Server;
  dir: string;
  users: number;
}
/** Every project's global setup runs in the main process: the first starts the server, the others share it. */
const SHARED = Symbol.for('rewards.test.embeddedPostgres');
const holder = globalThis as unknown as { [SHARED]?: Promise<Shared | null> };

/**
 * Global setup of every test project. With TEST_DATABASE_URL set, the suites use that server.
 * Without it, one embedded PostgreSQL server is started for the whole run (throw-away data, no
 * fsync) and TEST_DATABASE_URL points at it, so every suite runs on a real server on any machine.
 */
export default async function setup(project: TestProject) {
  holder[SHARED] ??= (async () => {
    if (process.env.TEST_DATABASE_URL) return null;
    const dir = mkdtempSync(join(tmpdir(), 'rewards-test-pg-'));
    const server = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), durable: false });
    process.env.TEST_DATABASE_URL = server.url('postgres');
    return { server, dir, users: 0 };
  })();
  const shared = await holder[SHARED];
  project.provide('embeddedPostgres', shared ? { dataDir: shared.server.dataDir, port: shared.server.port } : null);
  project.provide('testDatabaseUrl', process.env.TEST_DATABASE_URL!);
  if (!shared) return;
  shared.users++;
  return async () => {
    if (--shared.users > 0) return;
    await shared.server.stop();
    rmSync(shared.dir, { recursive: true, force: true });
  };
}
