import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { InternalGuard, ZodPipe } from '@rewards/infrastructure';
import { z } from 'zod';
import { API_KEY_TOKEN_TTL_SECONDS, ApiKeysService } from './api-keys/api-keys.service.js';
import { AUTH_CONFIG, type AuthConfig } from './config.js';
import { decodeFeedPosition, encodeFeedPosition, SessionRepository } from './sessions/session.repository.js';
import { Inject } from '@nestjs/common';

const RevocationsQuery = z.object({ after: z.string().regex(/^\d{1,15}\.\d{1,15}$/).optional() }).strict();
const ExchangeBody = z.object({ key: z.string().min(1).max(200) });

/** Service-to-service routes; never routed by the gateway, and guarded by the internal secret. */
@Controller('internal')
@UseGuards(InternalGuard)
export class InternalController {
  constructor(
    private readonly sessions: SessionRepository,
    private readonly apiKeys: ApiKeysService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /**
   * The feed of ended sessions and revoked API keys, paged by a commit-safe cursor: a reader that
   * sends back `next` as `after` sees every revocation, including ones committed late.
   */
  @Get('revocations')
  async revocations(@Query(new ZodPipe(RevocationsQuery)) query: z.infer<typeof RevocationsQuery>) {
    // An entry matters while a token it refuses can still be unexpired.
    const keep = (Math.max(this.config.ACCESS_TOKEN_TTL_SECONDS, API_KEY_TOKEN_TTL_SECONDS) + 60) * 1000;
    const from = query.after ? decodeFeedPosition(query.after) : undefined;
    const { items, next } = await this.sessions.revocationFeed(from, keep / 1000);
    return {
      items: items.map((r) => ({ sessionId: r.sessionId, expiresAt: new Date(r.revokedAt.getTime() + keep).toISOString() })),
      next: encodeFeedPosition(next),
    };
  }

  @Post('api-keys/exchange')
  @HttpCode(200)
  exchange(@Body(new ZodPipe(ExchangeBody)) body: z.infer<typeof ExchangeBody>) {
    return this.apiKeys.exchange(body.key);
  }
}
