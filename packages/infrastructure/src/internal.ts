import { timingSafeEqual, createHash } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

export const INTERNAL_SECRET = Symbol('INTERNAL_SECRET');
export const INTERNAL_HEADER = 'x-internal-secret';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Guards `/internal/*`: only the platform's own services, holding the shared secret, get in. */
@Injectable()
export class InternalGuard implements CanActivate {
  private readonly expected: Buffer;
  constructor(@Inject(INTERNAL_SECRET) secret: string) {
    this.expected = digest(secret);
  }
  canActivate(ctx: ExecutionContext): boolean {
    const given = ctx.switchToHttp().getRequest<FastifyRequest>().headers[INTERNAL_HEADER];
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.expected)) {
      throw new AppError('UNAUTHENTICATED', 'Internal route: service credential required');
    }
    return true;
  }
}
