import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { InternalGuard, ZodPipe } from '@rewards/infrastructure';
import { z } from 'zod';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { REVOCATIONS_MAX_WAIT_SECONDS, SessionsService } from './sessions/sessions.service.js';

const RevocationsQuery = z
  .object({
    /** The `next` of the previous read (opaque); without it, the revocations still in force. */
    after: z
      .string()
      .max(8192)
      .regex(/^[A-Za-z0-9_.-]+$/)
      .optional(),
    /** Seconds to wait for a revocation when there is none to send (a long poll); 0 answers at once. */
    wait: z
      .string()
      .regex(/^\d{1,2}$/)
      .transform(Number)
      .pipe(z.number().max(REVOCATIONS_MAX_WAIT_SECONDS))
      .optional(),
  })
  .strict();
const ExchangeBody = z.object({ key: z.string().min(1).max(200) });

/** Service-to-service routes; never routed by the gateway, and guarded by the internal secret. */
@Controller('internal')
@UseGuards(InternalGuard)
export class InternalController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly apiKeys: ApiKeysService,
  ) {}

  /** See SessionsService.revocations: every revocation reaches a reader that sends back `next` as `after`. */
  @Get('revocations')
  revocations(@Query(new ZodPipe(RevocationsQuery)) query: z.infer<typeof RevocationsQuery>) {
    return this.sessions.revocations(query.after, query.wait);
  }

  @Post('api-keys/exchange')
  @HttpCode(200)
  exchange(@Body(new ZodPipe(ExchangeBody)) body: z.infer<typeof ExchangeBody>) {
    return this.apiKeys.exchange(body.key);
  }
}
