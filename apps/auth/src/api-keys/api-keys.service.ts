import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError, type Principal } from '@rewards/infrastructure';
import { sha256 } from '../auth/auth.service.js';
import { KeyStore } from '../keys/key-store.js';
import { ApiKeyRepository } from './api-key.repository.js';

export const API_KEY_TOKEN_TTL_SECONDS = 300;

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly keys: KeyStore,
  ) {}

  /** The key itself is returned once; only its hash is kept. */
  async create(actor: Principal, name: string) {
    const key = `rk_${randomBytes(32).toString('base64url')}`;
    const row = await this.repo.insert({ id: randomUUID(), name, keyHash: sha256(key), createdBy: actor.subject });
    return { id: row.id, name: row.name, key };
  }

  /** Trades a valid API key for a short-lived token the event service can verify on its own. */
  async exchange(key: string) {
    const row = await this.repo.findActiveByHash(sha256(key));
    if (!row) throw new AppError('UNAUTHENTICATED', 'API key is invalid or revoked');
    return {
      token: await this.keys.signApiKeyToken(row.id, API_KEY_TOKEN_TTL_SECONDS),
      expiresIn: API_KEY_TOKEN_TTL_SECONDS,
      keyId: row.id,
    };
  }
}
