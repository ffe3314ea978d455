import { Injectable } from '@nestjs/common';
import { AppError, principalFromPayload, type Principal, type TokenVerifier } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import type { JWTPayload } from 'jose';
import { SessionRepository } from '../sessions/session.repository.js';
import { SigningKeyStore } from './signing-key.store.js';

/** Auth holds the keys and the sessions, so it verifies tokens itself against both. */
@Injectable()
export class LocalTokenVerifier implements TokenVerifier {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly uow: UnitOfWork,
    private readonly sessions: SessionRepository,
  ) {}

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      payload = await this.keys.verify(token);
    } catch {
      throw new AppError('UNAUTHENTICATED', 'Token is invalid or expired');
    }
    const principal = principalFromPayload(payload);
    if (principal.kind === 'user' && !(await this.sessions.isCurrent(this.uow.db, principal.sessionId!))) {
      throw new AppError('UNAUTHENTICATED', 'Session has ended');
    }
    return principal;
  }
}
