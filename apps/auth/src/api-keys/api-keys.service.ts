import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppError, DATABASE, type Database, type Principal } from '@rewards/infrastructure';
import { Outbox, OutboxRelay } from '../outbox/outbox.js';
import { sha256 } from '../auth/auth.service.js';
import { KeyStore } from '../keys/key-store.js';
import { ApiKeyRepository } from './api-key.repository.js';

export const API_KEY_TOKEN_TTL_SECONDS = 300;

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly keys: KeyStore,
    @Inject(DATABASE) private readonly database: Database,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
  ) {}

  /** The key itself is returned once; only its hash is kept. */
  async create(actor: Principal, requestId: string, name: string) {
    const key = `rk_${randomBytes(32).toString('base64url')}`;
    const row = await this.database.db.transaction(async (tx) => {
      const created = await this.repo.insert({ id: randomUUID(), name, keyHash: sha256(key), createdBy: actor.subject }, tx);
      await this.outbox.audit(tx, {
        id: randomUUID(),
        actorId: actor.subject,
        action: 'api-key.create',
        targetType: 'api-key',
        targetId: created.id,
        before: null,
        after: { id: created.id, name: created.name },
        requestId,
        at: new Date().toISOString(),
      });
      return created;
    });
    this.relay.kick();
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
