import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** An initialised, empty PGlite data directory to copy: creating one takes seconds, copying one a fraction. */
    pgliteTemplate: string;
  }
}

/** Global setup of the integration project: creates the template once per run. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), 'rewards-pglite-template-'));
  const dataDir = join(dir, 'db');
  const client = await PGlite.create(dataDir);
  await client.close();
  project.provide('pgliteTemplate', dataDir);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
