import { timingSafeEqual, createHash } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

export const INTERNAL_SECRET = Symbol('INTERNAL_SECRET');
export const INTERNAL_HEADER = 'x-internal-secret';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A constant-time check of a header value against the shared secret (both sides hashed first, so
 * neither the length nor the content leaks through timing).
 */
export function internalSecretCheck(secret: string): (given: string | string[] | undefined) => boolean {
  const expected = digest(secret);
  return (given) => typeof given === 'string' && timingSafeEqual(digest(given), expected);
}

/** Guards `/internal/*`: only the platform's own services, holding the shared secret, get in. */
@Injectable()
export class InternalGuard implements CanActivate {
  private readonly check: (given: string | string[] | undefined) => boolean;
  constructor(@Inject(INTERNAL_SECRET) secret: string) {
    this.check = internalSecretCheck(secret);
  }
  canActivate(ctx: ExecutionContext): boolean {
    const given = ctx.switchToHttp().getRequest<FastifyRequest>().headers[INTERNAL_HEADER];
    if (!this.check(given)) {
      throw new AppError('UNAUTHENTICATED', 'Internal route: service credential required');
    }
    return true;
  }
}
