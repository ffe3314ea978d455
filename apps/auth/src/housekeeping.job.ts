import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { type Logger } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { LoginThrottleRepository } from './auth/login-throttle.repository.js';
import { RegistrationLimitRepository } from './auth/registration-limit.repository.js';
import { AUTH_CONFIG, AUTH_LOGGER, type AuthConfig } from './config.js';
import { OutboxRepository } from './outbox/outbox.repository.js';
import { SessionRepository } from './sessions/session.repository.js';

/** The rows it drops only take space, so an unhurried pace keeps up. */
const EVERY_MS = 10 * 60_000;
const KEEP_DELIVERED_DAYS = 7;

/**
 * Drops rows that can no longer matter, so auth's tables do not grow with every login forever.
 * A periodic job: it starts with the application and stops with it.
 */
@Injectable()
export class HousekeepingJob implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    @Inject(AUTH_LOGGER) private readonly logger: Logger,
    private readonly uow: UnitOfWork,
    private readonly throttle: LoginThrottleRepository,
    private readonly registrations: RegistrationLimitRepository,
    private readonly sessions: SessionRepository,
    private readonly outbox: OutboxRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.run().catch((err: Error) => {
        this.logger.warn({ err: { message: err.message } }, 'housekeeping failed; will retry');
      });
    }, EVERY_MS);
    this.timer.unref();
  }

  /** Each prune commits on its own: a failing one keeps what the ones before it dropped. */
  async run(): Promise<void> {
    const db = this.uow.db;
    await this.throttle.prune(db, this.config.LOGIN_FAILURE_WINDOW_SECONDS);
    await this.registrations.prune(db);
    await this.sessions.pruneRevocations(db, this.config.ACCESS_TOKEN_TTL_SECONDS + 3600);
    await this.sessions.pruneRefreshTokens(db);
    await this.outbox.pruneDelivered(db, KEEP_DELIVERED_DAYS);
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
