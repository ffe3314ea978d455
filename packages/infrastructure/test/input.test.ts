import type { RouteDef } from '@rewards/contracts';
import { routes } from '@rewards/contracts';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { parseInput } from '../src/input.js';

const request = (parts: { params?: unknown; query?: unknown; headers?: Record<string, string>; body?: unknown }) =>
  ({
    params: parts.params ?? {},
    query: parts.query ?? {},
    headers: parts.headers ?? {},
    body: parts.body,
  }) as Parameters<typeof parseInput>[1];

function failure(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a validation failure');
}

describe(parseInput.name, () => {
  const id = '9f1c6f9e-5d2a-4a57-9a43-2f4b1b5f8c11';

  it('parses params, query, headers and body with the route’s own schemas', () => {
    const claim = parseInput(
      routes.createClaim,
      request({ params: { id }, headers: { 'idempotency-key': 'key-1', 'x-other': 'x' } }),
    );
    expect(claim).toEqual({
      params: { id },
      query: undefined,
      headers: { 'Idempotency-Key': 'key-1' },
      body: undefined,
    });

    const users = parseInput(routes.listUsers, request({ query: { limit: '5', role: 'ADMIN' } }));
    expect(users.query).toEqual({ limit: 5, role: 'ADMIN' });
  });

  it('refuses an Idempotency-Key outside 1 to 128 visible ASCII characters, naming the header', () => {
    for (const key of ['', 'x'.repeat(129), 'with space', 'ünï']) {
      const err = failure(() =>
        parseInput(routes.createClaim, request({ params: { id }, headers: { 'idempotency-key': key } })),
      );
      expect(err.code).toBe('VALIDATION_FAILED');
      expect((err.details as { path: string }[]).map((d) => d.path)).toEqual(['Idempotency-Key']);
    }
  });

  it('checks the parts in order and answers with the first that fails', () => {
    const err = failure(() => parseInput(routes.setRoles, request({ params: { id: 'nope' }, body: { roles: [] } })));
    expect((err.details as { path: string }[]).map((d) => d.path)).toEqual(['id']);
  });

  it('refuses text PostgreSQL cannot store before the schema sees it, with its path', () => {
    const err = failure(() =>
      parseInput(routes.createEvent as RouteDef, request({ body: { title: 'a\u0000b', tags: { '\uD800': 1 } } })),
    );
    expect(err.details).toEqual([
      { path: 'title', code: 'invalid_format', message: 'must not contain the NUL character' },
      { path: 'tags.\uD800', code: 'invalid_format', message: 'must be well-formed Unicode (no lone surrogates)' },
    ]);
  });

  it('answers input nested too deeply to walk with 400, not a stack overflow', () => {
    let condition: unknown = { type: 'LOGIN_DAYS', days: 1 };
    for (let i = 0; i < 20_000; i++) condition = { type: 'ALL', of: [condition] };
    const err = failure(() =>
      parseInput(routes.createEvent as RouteDef, request({ body: { title: 'deep', condition } })),
    );
    expect(err.details).toEqual([{ path: '', code: 'too_deep', message: 'The input nests too deeply' }]);
  });

  it('returns undefined for the parts a route has no schema for', () => {
    expect(parseInput(routes.me, request({ body: { anything: true } }))).toEqual({
      params: undefined,
      query: undefined,
      headers: undefined,
      body: undefined,
    });
  });
});
