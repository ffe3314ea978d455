import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { API_KEY_TOKEN_TTL_SECONDS } from '../api-keys/api-keys.service.js';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { type FeedPosition, SessionRepository } from './session.repository.js';

export const encodeFeedPosition = (p: FeedPosition) => `${p.tx}.${p.seq}`;
export function decodeFeedPosition(raw: string): FeedPosition | undefined {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(raw);
  return m ? { tx: Number(m[1]), seq: Number(m[2]) } : undefined;
}

@Injectable()
export class SessionsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly sessions: SessionRepository,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  /**
   * The feed of ended sessions and revoked API keys, paged by a commit-safe cursor: a reader that
   * sends back `next` as `after` sees every revocation, including ones committed late.
   */
  async revocations(after?: string) {
    // An entry matters while a token it refuses can still be unexpired.
    const keep = (Math.max(this.config.ACCESS_TOKEN_TTL_SECONDS, API_KEY_TOKEN_TTL_SECONDS) + 60) * 1000;
    const from = after ? decodeFeedPosition(after) : undefined;
    const { items, next } = await this.sessions.revocationFeed(this.uow.db, from, keep / 1000);
    return {
      items: items.map((r) => ({
        sessionId: r.sessionId,
        expiresAt: new Date(r.revokedAt.getTime() + keep).toISOString(),
      })),
      next: encodeFeedPosition(next),
    };
  }
}
