import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD, APP_PIPE } from '@nestjs/core';
import {
  AccessGuard,
  DATABASE,
  HealthController,
  INTERNAL_SECRET,
  METRICS,
  TOKEN_VERIFIER,
  type Database,
  type Metrics,
  type TokenVerifier,
} from '@rewards/infrastructure';
import { ZodValidationPipe } from 'nestjs-zod';
import { EVENT_CONFIG, type EventConfig } from './config.js';

@Module({})
export class EventModule {
  static register(config: EventConfig, database: Database, metrics: Metrics, verifier: TokenVerifier): DynamicModule {
    return {
      module: EventModule,
      controllers: [HealthController],
      providers: [
        { provide: EVENT_CONFIG, useValue: config },
        { provide: DATABASE, useValue: database },
        { provide: METRICS, useValue: metrics },
        { provide: INTERNAL_SECRET, useValue: config.INTERNAL_SECRET },
        { provide: TOKEN_VERIFIER, useValue: verifier },
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_PIPE, useClass: ZodValidationPipe },
      ],
    };
  }
}
