import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { isDatabaseUnavailable, isDataException, isRetryable, isUniqueViolation, withRetry } from '../src/pg-errors.js';

/** The shape Drizzle produces: its own error, with the driver's error as `cause`. */
const wrapped = (cause: unknown) => Object.assign(new Error('Failed query: insert into "users" …'), { cause });
const pgError = (code: string, constraint?: string) =>
  Object.assign(new Error(`pg error ${code}`), { code, constraint });

describe(isUniqueViolation.name, () => {
  it('finds a unique violation on the error itself', () => {
    expect(isUniqueViolation(pgError('23505', 'users_email_key'))).toBe(true);
  });

  it('finds a unique violation in the cause chain', () => {
    const err = wrapped(wrapped(pgError('23505', 'users_email_key')));

    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(err, 'users_email_key')).toBe(true);
  });

  it('tells constraints apart', () => {
    const err = wrapped(pgError('23505', 'users_invite_code_key'));

    expect(isUniqueViolation(err, 'users_email_key')).toBe(false);
    expect(isUniqueViolation(err, 'users_invite_code_key')).toBe(true);
  });

  it('ignores other PostgreSQL errors', () => {
    expect(isUniqueViolation(wrapped(pgError('23503', 'users_invited_by_fkey')))).toBe(false);
    expect(isUniqueViolation(wrapped(pgError('40001')))).toBe(false);
  });

  it('stops at the first PostgreSQL-looking code in the chain', () => {
    const err = Object.assign(pgError('23503', 'fk'), { cause: pgError('23505', 'users_email_key') });

    expect(isUniqueViolation(err)).toBe(false);
  });

  it('skips codes that are not SQLSTATEs on the way down', () => {
    const err = Object.assign(new Error('outer'), {
      code: 'ERR_SOMETHING',
      cause: pgError('23505', 'users_email_key'),
    });

    expect(isUniqueViolation(err, 'users_email_key')).toBe(true);
  });

  it('gives up after five levels', () => {
    let err: unknown = pgError('23505', 'users_email_key');
    for (let i = 0; i < 5; i++) err = wrapped(err);

    expect(isUniqueViolation(err)).toBe(false);
  });

  it('answers false for anything that is not an error', () => {
    expect(isUniqueViolation(undefined)).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
    expect(isUniqueViolation('23505')).toBe(false);
    expect(isUniqueViolation(new Error('duplicate key value violates unique constraint'))).toBe(false);
  });

  it('survives a cause cycle', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    const b = { message: 'b', cause: a };
    a.cause = b;

    expect(isUniqueViolation(a)).toBe(false);
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe(isDatabaseUnavailable.name, () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'])(
    'recognises the socket error %s',
    (code) => {
      expect(isDatabaseUnavailable(Object.assign(new Error(code), { code }))).toBe(true);
    },
  );

  it.each([
    ['08006', 'connection_failure'],
    ['08001', 'sqlclient_unable_to_establish_sqlconnection'],
    ['57P01', 'admin_shutdown'],
    ['57P02', 'crash_shutdown'],
    ['57P03', 'cannot_connect_now'],
    ['53300', 'too_many_connections'],
  ])('recognises SQLSTATE %s (%s)', (code) => {
    expect(isDatabaseUnavailable(wrapped(pgError(code)))).toBe(true);
  });

  it.each([
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
    'the database system is starting up',
    'the database system is shutting down',
    'timeout expired',
  ])('recognises the message "%s"', (message) => {
    expect(isDatabaseUnavailable(wrapped(new Error(message)))).toBe(true);
  });

  it('does not treat query errors as unavailability', () => {
    expect(isDatabaseUnavailable(wrapped(pgError('23505', 'users_email_key')))).toBe(false);
    expect(isDatabaseUnavailable(wrapped(pgError('42P01')))).toBe(false);
    expect(isDatabaseUnavailable(wrapped(pgError('57014')))).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });

  it('recognises the error Drizzle raises when nothing listens on the database port', async () => {
    const pool = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/none',
      connectionTimeoutMillis: 1000,
    });
    try {
      const err = await drizzle(pool)
        .execute(sql`select 1`)
        .then(
          () => undefined,
          (e: unknown) => e,
        );

      expect(err).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect(isUniqueViolation(err)).toBe(false);
    } finally {
      await pool.end();
    }
  });
});

describe(isDataException.name, () => {
  it.each([
    ['22P02', 'invalid_text_representation'],
    ['22003', 'numeric_value_out_of_range'],
    ['22021', 'character_not_in_repertoire'],
    ['22001', 'string_data_right_truncation'],
  ])('recognises SQLSTATE %s (%s) in the cause chain', (code) => {
    expect(isDataException(wrapped(pgError(code)))).toBe(true);
  });

  it('ignores other classes', () => {
    expect(isDataException(wrapped(pgError('23505')))).toBe(false);
    expect(isDataException(wrapped(pgError('42P01')))).toBe(false);
    expect(isDataException(new Error('22P02'))).toBe(false);
    expect(isDataException(undefined)).toBe(false);
  });
});

describe(isRetryable.name, () => {
  it('recognises serialization failures and deadlocks only', () => {
    expect(isRetryable(wrapped(pgError('40001')))).toBe(true);
    expect(isRetryable(wrapped(pgError('40P01')))).toBe(true);
    expect(isRetryable(wrapped(pgError('23505')))).toBe(false);
    expect(isRetryable(new Error('deadlock detected'))).toBe(false);
  });
});

describe(withRetry.name, () => {
  it('runs a retryable failure again until it succeeds', async () => {
    const fn = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(wrapped(pgError('40001')))
      .mockRejectedValueOnce(wrapped(pgError('40P01')))
      .mockResolvedValueOnce('done');

    await expect(withRetry(fn)).resolves.toBe('done');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('gives up after the given number of attempts with the last error', async () => {
    const last = wrapped(pgError('40001'));
    const fn = vi.fn<() => Promise<string>>().mockRejectedValue(last);

    await expect(withRetry(fn, 3)).rejects.toBe(last);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('does not run other failures again', async () => {
    const err = wrapped(pgError('23505', 'users_email_key'));
    const fn = vi.fn<() => Promise<string>>().mockRejectedValue(err);

    await expect(withRetry(fn)).rejects.toBe(err);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
