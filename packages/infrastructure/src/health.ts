import { Controller, Get, Header, Inject, Optional } from '@nestjs/common';
import { AppError } from './errors.js';
import { DATABASE, type Database } from './database.js';
import { METRICS, type Metrics } from './http.js';
import { TOKEN_VERIFIER, type TokenVerifier } from './principal.js';

/** Liveness, readiness (the database answers) and Prometheus metrics of one service. */
@Controller()
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(METRICS) private readonly metrics: Metrics,
    @Optional() @Inject(TOKEN_VERIFIER) private readonly verifier?: TokenVerifier,
  ) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz() {
    try {
      await this.database.ping();
    } catch {
      throw new AppError('UNAVAILABLE', 'Database is not reachable');
    }
    if (this.verifier?.ready === false) throw new AppError('UNAVAILABLE', 'Token keys or session state not loaded yet');
    return { status: 'ok', database: 'postgres' };
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  metricsText() {
    return this.metrics.registry.metrics();
  }
}
