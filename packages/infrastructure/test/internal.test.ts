import type { ExecutionContext } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { INTERNAL_HEADER, InternalGuard } from '../src/internal.js';

const SECRET = 'internal-secret-0123456789abcdef0123456789';

/** The slice of Nest's execution context the guard reads: the request headers. */
const contextWith = (headers: Record<string, string | string[] | undefined>) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;

describe(InternalGuard.name, () => {
  const sut = new InternalGuard(SECRET);

  it('lets a caller presenting the shared secret in', () => {
    expect(sut.canActivate(contextWith({ [INTERNAL_HEADER]: SECRET }))).toBe(true);
  });

  it.each([
    ['no header', {}],
    ['an empty header', { [INTERNAL_HEADER]: '' }],
    ['a wrong secret', { [INTERNAL_HEADER]: `${SECRET.slice(0, -1)}x` }],
    ['a prefix of the secret', { [INTERNAL_HEADER]: SECRET.slice(0, 16) }],
    ['the secret with a suffix', { [INTERNAL_HEADER]: `${SECRET}0` }],
    ['a repeated header', { [INTERNAL_HEADER]: [SECRET, SECRET] }],
    ['the secret as a bearer token', { authorization: `Bearer ${SECRET}` }],
  ])('refuses %s with 401 UNAUTHENTICATED', (_name, headers) => {
    let thrown: unknown;
    try {
      sut.canActivate(contextWith(headers));
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).code).toBe('UNAUTHENTICATED');
    expect((thrown as AppError).message).toBe('Internal route: service credential required');
  });
});
