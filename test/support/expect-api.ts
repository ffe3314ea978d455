import { expect } from 'vitest';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** ISO-8601 with an offset or Z, as the API promises for every time. */
export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const STACK_TRACE = /\n\s+at |\bat [^\s]+ \(|node_modules|\.(?:ts|js|mjs):\d+/;

interface ResponseLike {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface ErrorDetail {
  path: string;
  code: string;
  message: string;
}

/**
 * Asserts the one error shape: exactly `{error: {code, message, details?}, requestId}`, the
 * request id equal to the `x-request-id` response header, and nothing that looks like a stack trace.
 */
export function expectError(
  res: ResponseLike,
  status: number,
  code: string,
): { code: string; message: string; details?: unknown } {
  const body = res.body as { error: { code: string; message: string; details?: unknown }; requestId: string };
  expect({ status: res.status, code: body?.error?.code }, JSON.stringify(body)).toEqual({ status, code });
  expect(Object.keys(body).sort()).toEqual(['error', 'requestId']);
  const keys = Object.keys(body.error).sort();
  expect(keys.filter((k) => k !== 'details')).toEqual(['code', 'message']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.requestId).toBe('string');
  expect(body.requestId.length).toBeGreaterThan(0);
  expect(res.headers.get('x-request-id')).toBe(body.requestId);
  expect(JSON.stringify(body)).not.toMatch(STACK_TRACE);
  return body.error;
}

/** A validation error whose details name exactly the given failing fields (in any order). */
export function expectValidationError(res: ResponseLike, paths: string[]): ErrorDetail[] {
  const error = expectError(res, 400, 'VALIDATION_FAILED');
  const details = error.details as ErrorDetail[];
  expect(Array.isArray(details), JSON.stringify(error)).toBe(true);
  for (const d of details) {
    expect(Object.keys(d).sort()).toEqual(['code', 'message', 'path']);
    expect(typeof d.code).toBe('string');
    expect(typeof d.message).toBe('string');
  }
  expect([...new Set(details.map((d) => d.path))].sort()).toEqual([...paths].sort());
  return details;
}

export function decodeJwtPart<T = Record<string, unknown>>(token: string, part: 0 | 1): T {
  return JSON.parse(Buffer.from(token.split('.')[part]!, 'base64url').toString('utf8')) as T;
}

export interface AccessClaims {
  sub: string;
  sid: string;
  roles: string[];
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti?: string;
}

export const claimsOf = (token: string) => decodeJwtPart<AccessClaims>(token, 1);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns true and resolves with the time it took; fails after `limitMs`.
 * Used for "stops working within 1 s" promises.
 */
export async function timeUntil(check: () => Promise<boolean>, limitMs: number, intervalMs = 50): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > limitMs) throw new Error(`condition not met within ${limitMs} ms`);
    await sleep(intervalMs);
  }
}

/** Collects every credential a test file uses, to check that none reaches a log or a table. */
export class Secrets {
  private readonly values = new Map<string, string>();
  add(kind: string, value: string | undefined): string {
    if (value) this.values.set(value, kind);
    return value ?? '';
  }
  get size(): number {
    return this.values.size;
  }
  kinds(): Set<string> {
    return new Set(this.values.values());
  }
  /** `[kind, where]` for every secret found in `text`. */
  foundIn(text: string, where: string): string[] {
    const hits: string[] = [];
    for (const [value, kind] of this.values) if (text.includes(value)) hits.push(`${kind} in ${where}`);
    return hits;
  }
}

/** All collected log lines of a stack, one string per service. */
export function logsText(logs: Record<string, string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(logs).map(([name, lines]) => [name, lines.join('\n')]));
}

/** One parsed JSON log line of a service. */
export type LogLine = Record<string, any>;

/** A service's output lines that are JSON log records, parsed (anything else it printed is skipped). */
export const parseLogs = (lines: string[]): LogLine[] =>
  lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
