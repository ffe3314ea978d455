import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { openDatabase } from '../../src/database.js';
import type {} from '../../../../test/support/pglite-template.js';

const logger = createLogger('test', 'silent');
const DIST = pathToFileURL(fileURLToPath(new URL('../../dist/index.js', import.meta.url))).href;

/** Another process opening the same data directory through the built package. */
function openInChild(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    import { createLogger, openDatabase } from ${JSON.stringify(DIST)};
    try {
      const db = await openDatabase({ dataDir: ${JSON.stringify(dataDir)}, logger: createLogger('child', 'silent') });
      await db.close();
      process.stdout.write('opened');
      process.exit(0);
    } catch (err) {
      process.stdout.write(err.message);
      process.exit(3);
    }
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  return pid!;
}

describe(`${openDatabase.name} on PGlite`, () => {
  let dir: string;
  let dataDir: string;
  let lockPath: string;

  // One data directory, opened and closed in turn by the tests: each open costs PGlite's start-up.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rewards-lock-'));
    dataDir = join(dir, 'db');
    lockPath = `${dataDir}.lock`;
    await cp(inject('pgliteTemplate'), dataDir, { recursive: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second process, and a second open in this process, while the directory is held', async () => {
    const first = await openDatabase({ dataDir, logger });
    let refused;
    try {
      refused = await openInChild(dataDir);

      await expect(openDatabase({ dataDir, logger })).rejects.toThrow(`data directory ${dataDir} is in use by process ${process.pid}`);
      expect(readFileSync(lockPath, 'utf8')).toBe(String(process.pid));
      await first.ping();
    } finally {
      await first.close();
    }

    expect(refused.stdout).toBe(`data directory ${dataDir} is in use by process ${process.pid}; one process per embedded database`);
    expect(refused.code).toBe(3);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('releases the directory once, however often close is called', async () => {
    const sut = await openDatabase({ dataDir, logger });
    await sut.close();
    writeFileSync(lockPath, '999999999');

    await sut.close();

    expect(readFileSync(lockPath, 'utf8')).toBe('999999999');
    rmSync(lockPath);
  });

  it('takes over a lock left behind by a process that died, or left empty', async () => {
    for (const stale of [String(deadPid()), '']) {
      writeFileSync(lockPath, stale);

      const sut = await openDatabase({ dataDir, logger });
      try {
        expect(readFileSync(lockPath, 'utf8')).toBe(String(process.pid));
        await sut.ping();
      } finally {
        await sut.close();
      }

      expect(existsSync(lockPath)).toBe(false);
    }
  });
});
