import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { baseEnv, HttpUrl, loadConfig, Port, PostgresUrl, UrlList } from '../src/config.js';

const SECRET = 'x'.repeat(32);

const shape = {
  ...baseEnv,
  SERVICE_PORT: Port.default(3001),
  DATABASE_URL: PostgresUrl.optional(),
  UPSTREAM_URL: HttpUrl.default('http://127.0.0.1:3002'),
  POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  INSTANCES: UrlList.default(['http://127.0.0.1:3002']),
};

/** process.exit is replaced by a throw, so the code after it never runs, as in the real process. */
class Exited extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`exit ${code}`);
  }
}

function spyExitAndStderr() {
  const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Exited(code);
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return { exit, stderr, written: () => stderr.mock.calls.map((c) => String(c[0])).join('') };
}

describe(loadConfig.name, () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('parses a valid environment and fills in the defaults', () => {
    const sut = loadConfig('auth', shape, { INTERNAL_SECRET: SECRET, SERVICE_PORT: '4100', POOL_SIZE: '25' });

    expect(sut).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      INTERNAL_SECRET: SECRET,
      SERVICE_PORT: 4100,
      DATABASE_URL: undefined,
      UPSTREAM_URL: 'http://127.0.0.1:3002',
      POOL_SIZE: 25,
      INSTANCES: ['http://127.0.0.1:3002'],
    });
  });

  it('treats empty variables as unset, so the defaults apply', () => {
    const sut = loadConfig('auth', shape, {
      INTERNAL_SECRET: SECRET,
      LOG_LEVEL: '',
      SERVICE_PORT: '',
      DATABASE_URL: '',
    });

    expect(sut.LOG_LEVEL).toBe('info');
    expect(sut.SERVICE_PORT).toBe(3001);
    expect(sut.DATABASE_URL).toBeUndefined();
  });

  it('ignores variables the shape does not name', () => {
    const sut = loadConfig('auth', shape, { INTERNAL_SECRET: SECRET, PATH: '/usr/bin', HOME: '/root' });

    expect(Object.keys(sut)).not.toContain('PATH');
  });

  it('splits a comma-separated list of URLs, trimming blanks', () => {
    const sut = loadConfig('auth', shape, { INTERNAL_SECRET: SECRET, INSTANCES: ' http://a:3002 , https://b:3002,, ' });

    expect(sut.INSTANCES).toEqual(['http://a:3002', 'https://b:3002']);
  });

  it('keeps a postgres:// URL', () => {
    const sut = loadConfig('auth', shape, { INTERNAL_SECRET: SECRET, DATABASE_URL: 'postgresql://u@db:5432/auth' });

    expect(sut.DATABASE_URL).toBe('postgresql://u@db:5432/auth');
  });

  it('names every bad key on stderr and exits with 1', () => {
    const spies = spyExitAndStderr();

    expect(() =>
      loadConfig('auth', shape, {
        INTERNAL_SECRET: 'short',
        LOG_LEVEL: 'loud',
        SERVICE_PORT: '70000',
        DATABASE_URL: 'mysql://db/auth',
        UPSTREAM_URL: 'ftp://files',
        POOL_SIZE: 'many',
        NODE_ENV: 'staging',
        INSTANCES: 'http://ok:1,ftp://not-ok',
      }),
    ).toThrow(Exited);

    expect(spies.exit).toHaveBeenCalledTimes(1);
    expect(spies.exit).toHaveBeenCalledWith(1);
    const out = spies.written();
    expect(out.startsWith('[auth] invalid configuration:\n')).toBe(true);
    const named = out
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => line.trim().split(':')[0]);
    expect(named.sort()).toEqual(
      [
        'DATABASE_URL',
        'INSTANCES.1',
        'INTERNAL_SECRET',
        'LOG_LEVEL',
        'NODE_ENV',
        'POOL_SIZE',
        'SERVICE_PORT',
        'UPSTREAM_URL',
      ].sort(),
    );
    expect(out).toContain(
      '  INTERNAL_SECRET: must be at least 32 characters; generate one with `openssl rand -hex 32`',
    );
    expect(out).toContain(
      '  DATABASE_URL: must be a postgres:// URL (`pnpm start` sets it to its embedded server when unset)',
    );
  });

  it('reports a missing required key', () => {
    const spies = spyExitAndStderr();

    expect(() => loadConfig('gateway', shape, {})).toThrow(Exited);

    expect(spies.exit).toHaveBeenCalledWith(1);
    const lines = spies.written().split('\n').filter(Boolean);
    expect(lines[0]).toBe('[gateway] invalid configuration:');
    expect(lines.slice(1).map((l) => l.trim().split(':')[0])).toEqual(['INTERNAL_SECRET']);
  });

  it('reads process.env when no environment is passed', () => {
    vi.stubEnv('INTERNAL_SECRET', SECRET);
    vi.stubEnv('SERVICE_PORT', '4242');
    try {
      expect(loadConfig('auth', shape).SERVICE_PORT).toBe(4242);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
