import type { Provider, Type } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ZodValidationPipe } from 'nestjs-zod';
import { AccessGuard } from './access.js';
import type { Database } from './database.js';
import { DATABASE, METRICS } from './health.js';
import type { Metrics } from './http.js';
import { INTERNAL_SECRET } from './internal.js';
import { TOKEN_VERIFIER, type TokenVerifier } from './principal.js';

/**
 * What every service's module provides alike: its database, metrics and internal secret, the token
 * verifier behind the global access guard (a ready instance, or a provider class of the module's
 * own), and the global Zod validation pipe.
 */
export function serviceProviders(opts: {
  database: Database;
  metrics: Metrics;
  internalSecret: string;
  verifier: TokenVerifier | Type<TokenVerifier>;
}): Provider[] {
  return [
    { provide: DATABASE, useValue: opts.database },
    { provide: METRICS, useValue: opts.metrics },
    { provide: INTERNAL_SECRET, useValue: opts.internalSecret },
    typeof opts.verifier === 'function'
      ? { provide: TOKEN_VERIFIER, useExisting: opts.verifier }
      : { provide: TOKEN_VERIFIER, useValue: opts.verifier },
    { provide: APP_GUARD, useClass: AccessGuard },
    { provide: APP_PIPE, useClass: ZodValidationPipe },
  ];
}
