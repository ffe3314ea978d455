import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type Logger } from '@rewards/infrastructure';
import { DATABASE, type Database } from '@rewards/infrastructure/persistence';
import { LoginThrottleRepository } from './auth/login-throttle.repository.js';
import { RegistrationLimitRepository } from './auth/registration-limit.repository.js';
import { AUTH_CONFIG, type AuthConfig } from './config.js';
import { OutboxRelay } from './outbox/outbox.js';
import { SessionRepository } from './sessions/session.repository.js';

/** Drops rows that can no longer matter, so auth's tables do not grow with every login forever. */
@Injectable()
export class Housekeeping implements OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly throttle: LoginThrottleRepository,
    private readonly sessions: SessionRepository,
    private readonly relay: OutboxRelay,
    private readonly registrations: RegistrationLimitRepository,
    @Inject(DATABASE) private readonly database: Database,
  ) {}

  start(logger: Logger, everyMs = 10 * 60_000): void {
    this.timer = setInterval(() => {
      this.run().catch((err: Error) => logger.warn({ err: { message: err.message } }, 'housekeeping failed; will retry'));
    }, everyMs);
    this.timer.unref();
  }

  async run(): Promise<void> {
    await this.throttle.prune(this.config.LOGIN_FAILURE_WINDOW_SECONDS);
    await this.registrations.prune(this.database.db);
    await this.sessions.pruneRevocations(this.config.ACCESS_TOKEN_TTL_SECONDS + 3600);
    await this.sessions.pruneRefreshTokens();
    await this.relay.pruneDelivered(7);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
