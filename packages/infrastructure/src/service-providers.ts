import type { Provider, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessGuard } from './access.js';
import { DATABASE, type Database } from './database.js';
import { METRICS, type Metrics } from './http.js';
import { INTERNAL_SECRET } from './internal.js';
import { TOKEN_VERIFIER, type TokenVerifier } from './principal.js';
import { UnitOfWork } from './unit-of-work.js';

/**
 * What every service's module provides alike: its database, metrics and internal secret, the token
 * verifier behind the global access guard (a ready instance, or a provider class of the module's
 * own), and the unit of work services run their transactions with. Input is validated per route by
 * `@Input()`, from the route table.
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
    UnitOfWork,
  ];
}
