import { type DynamicModule, Module } from '@nestjs/common';
import { type Logger, type Metrics } from '@rewards/infrastructure';
import { HealthController, serviceProviders, type Database } from '@rewards/infrastructure/persistence';
import { ApiKeyRepository } from './api-keys/api-key.repository.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { LoginThrottleRepository } from './auth/login-throttle.repository.js';
import { PasswordHasher } from './auth/password.hasher.js';
import { RegistrationLimitRepository } from './auth/registration-limit.repository.js';
import { AUTH_CONFIG, AUTH_LOGGER, type AuthConfig } from './config.js';
import { HousekeepingJob } from './housekeeping.job.js';
import { InternalController } from './internal.controller.js';
import { LocalTokenVerifier } from './keys/local-token.verifier.js';
import { SigningKeyRepository } from './keys/signing-key.repository.js';
import { SigningKeyStore } from './keys/signing-key.store.js';
import { OutboxRelay } from './outbox/outbox.relay.js';
import { OutboxRepository } from './outbox/outbox.repository.js';
import { SessionRepository } from './sessions/session.repository.js';
import { SessionsService } from './sessions/sessions.service.js';
import { AdminBootstrap } from './users/admin.bootstrap.js';
import { UserRepository } from './users/user.repository.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';

@Module({})
export class AuthModule {
  static register(config: AuthConfig, database: Database, metrics: Metrics, logger: Logger): DynamicModule {
    return {
      module: AuthModule,
      controllers: [AuthController, UsersController, ApiKeysController, InternalController, HealthController],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        { provide: AUTH_LOGGER, useValue: logger },
        ...serviceProviders({
          database,
          metrics,
          internalSecret: config.INTERNAL_SECRET,
          verifier: LocalTokenVerifier,
        }),
        // Repositories: the only place with SQL.
        UserRepository,
        SessionRepository,
        SigningKeyRepository,
        LoginThrottleRepository,
        RegistrationLimitRepository,
        ApiKeyRepository,
        OutboxRepository,
        // Services.
        LocalTokenVerifier,
        SigningKeyStore,
        PasswordHasher,
        AuthService,
        UsersService,
        SessionsService,
        ApiKeysService,
        AdminBootstrap,
        // Periodic jobs: each starts when the application has booted and stops when it closes.
        OutboxRelay,
        HousekeepingJob,
      ],
    };
  }
}
