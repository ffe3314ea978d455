import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { InternalGuard } from '@rewards/infrastructure';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { AUTH_CONFIG, type AuthConfig } from './config.js';
import { SessionRepository } from './sessions/session.repository.js';
import { Inject } from '@nestjs/common';

class RevocationsQuery extends createZodDto(z.object({ since: z.iso.datetime({ offset: true }).optional() })) {}
class ExchangeBody extends createZodDto(z.object({ key: z.string().min(1).max(200) })) {}

/** Service-to-service routes; never routed by the gateway, and guarded by the internal secret. */
@Controller('internal')
@UseGuards(InternalGuard)
export class InternalController {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly apiKeys: ApiKeysService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  @Get('revocations')
  async revocations(@Query() query: RevocationsQuery) {
    const ttl = this.config.ACCESS_TOKEN_TTL_SECONDS;
    const { items, now } = await this.sessions.revocationsSince(query.since ? new Date(query.since) : undefined, ttl + 60);
    return {
      items: items.map((r) => ({ sessionId: r.sessionId, expiresAt: new Date(r.revokedAt.getTime() + (ttl + 60) * 1000).toISOString() })),
      now: now.toISOString(),
    };
  }

  @Post('api-keys/exchange')
  @HttpCode(200)
  exchange(@Body() body: ExchangeBody) {
    return this.apiKeys.exchange(body.key);
  }
}
