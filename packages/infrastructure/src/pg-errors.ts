/** Walks an error's cause chain (Drizzle wraps driver errors) looking for a PostgreSQL error. */
function pgFields(err: unknown): { code?: string; constraint?: string } | undefined {
  let e = err as { code?: unknown; constraint?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))
      return { code: e.code, constraint: typeof e.constraint === 'string' ? e.constraint : undefined };
    e = e.cause as typeof e;
  }
  return undefined;
}

/** The SQLSTATE of a PostgreSQL error (`22023`), however deeply it was wrapped. */
export function sqlState(err: unknown): string | undefined {
  return pgFields(err)?.code;
}

/** SQLSTATE class 22: the data itself is invalid for its column type. */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const f = pgFields(err);
  return f?.code === '23505' && (constraint === undefined || f.constraint === constraint);
}

const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Connection-level failures: the database is down or restarting, not a fault in the request. */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (UNAVAILABLE_NODE.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code))
      return true;
    const msg = typeof e.message === 'string' ? e.message : '';
    if (
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
        msg,
      )
    )
      return true;
    // node-postgres' own connect timeout (the client's connectionTimeoutMillis).
    if (msg === 'timeout expired') return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** Serialization failures and deadlocks: the transaction can simply run again. */
export function isRetryable(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40001' || code === '40P01';
}

export async function withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * i));
    }
  }
}
