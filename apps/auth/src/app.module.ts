import { type DynamicModule, Module } from '@nestjs/common';
import { type Metrics } from '@rewards/infrastructure';
import { HealthController, serviceProviders, type Database } from '@rewards/infrastructure/persistence';
import { ApiKeyRepository } from './api-keys/api-key.repository.js';
import { ApiKeysController } from './api-keys/api-keys.controller.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { LoginThrottleRepository } from './auth/login-throttle.repository.js';
import { PasswordHasher } from './auth/password-hasher.js';
import { RegistrationLimitRepository } from './auth/registration-limit.repository.js';
import { AUTH_CONFIG, type AuthConfig } from './config.js';
import { Housekeeping } from './housekeeping.js';
import { InternalController } from './internal.controller.js';
import { Outbox, OutboxRelay } from './outbox/outbox.js';
import { KeyStore } from './keys/key-store.js';
import { LocalTokenVerifier } from './keys/local-token-verifier.js';
import { SessionRepository } from './sessions/session.repository.js';
import { AdminBootstrap } from './users/admin-bootstrap.js';
import { UserRepository } from './users/user.repository.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';

@Module({})
export class AuthModule {
  static register(config: AuthConfig, database: Database, metrics: Metrics): DynamicModule {
    return {
      module: AuthModule,
      controllers: [AuthController, UsersController, ApiKeysController, InternalController, HealthController],
      providers: [
        { provide: AUTH_CONFIG, useValue: config },
        ...serviceProviders({ database, metrics, internalSecret: config.INTERNAL_SECRET, verifier: LocalTokenVerifier }),
        LocalTokenVerifier,
        KeyStore,
        PasswordHasher,
        UserRepository,
        SessionRepository,
        LoginThrottleRepository,
        RegistrationLimitRepository,
        ApiKeyRepository,
        AuthService,
        UsersService,
        ApiKeysService,
        AdminBootstrap,
        Outbox,
        OutboxRelay,
        Housekeeping,
      ],
    };
  }
}
