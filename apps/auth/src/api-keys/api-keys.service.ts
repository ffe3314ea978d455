import { randomBytes, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ApiKey, ApiKeyCreated, CreateApiKeyBody } from '@rewards/contracts';
import { AppError, decodeCursor, toPage, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { sha256 } from '../auth/auth.service.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import type { ApiKeyRow } from '../schema.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { ApiKeyRepository } from './api-key.repository.js';

/** Lifetime of the token an API key is exchanged for (shorter when the key expires sooner). */
export const API_KEY_TOKEN_TTL_SECONDS = 300;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The API's key: never its hash, the times as ISO strings. */
export const toApiKey = (r: ApiKeyRow): ApiKey => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  expiresAt: iso(r.expiresAt),
  createdAt: r.createdAt.toISOString(),
  lastUsedAt: iso(r.lastUsedAt),
  revokedAt: iso(r.revokedAt),
});

/** What the audit log keeps of a key: never its hash. */
const audited = (r: ApiKeyRow) => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  expiresAt: iso(r.expiresAt),
  revokedAt: iso(r.revokedAt),
});

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly repo: ApiKeyRepository,
    private readonly sessions: SessionRepository,
    private readonly keys: SigningKeyStore,
    private readonly uow: UnitOfWork,
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
  ) {}

  /** The key itself is returned once; only its hash is kept. */
  async create(actor: Principal, requestId: string, body: CreateApiKeyBody): Promise<ApiKeyCreated> {
    const key = `rk_${randomBytes(32).toString('base64url')}`;
    const row = await this.uow.transaction(async (tx) => {
      const created = await this.repo.insert(tx, {
        id: randomUUID(),
        name: body.name,
        keyHash: sha256(key),
        scopes: [...body.scopes],
        expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
        createdBy: actor.subject,
        createdAt: new Date(),
      });
      await this.outbox.addAudit(tx, {
        id: randomUUID(),
        actorId: actor.subject,
        action: 'api-key.create',
        targetType: 'api-key',
        targetId: created.id,
        before: null,
        after: audited(created),
        requestId,
        at: new Date().toISOString(),
      });
      return created;
    });
    this.relay.kick();
    const { id, name, scopes, expiresAt, createdAt } = toApiKey(row);
    return { id, name, scopes, key, expiresAt, createdAt };
  }

  async list(q: { limit: number; cursor?: string }) {
    const rows = await this.repo.list(this.uow.db, q.limit, q.cursor ? decodeCursor(q.cursor) : undefined);
    return toPage(rows, q.limit, (r) => ({ at: r.createdAt, id: r.id }), toApiKey);
  }

  /**
   * Revokes the key and publishes it on the revocation feed (as the key's "session"), so tokens it
   * was already exchanged for are refused everywhere within a second. Revoking it again changes nothing.
   */
  async revoke(actor: Principal, requestId: string, id: string): Promise<void> {
    const changed = await this.uow.transaction(async (tx) => {
      const before = await this.repo.lock(tx, id);
      if (!before) throw new AppError('NOT_FOUND', 'API key not found');
      if (before.revokedAt) return false;
      const after = await this.repo.revoke(tx, id, actor.subject);
      await this.sessions.recordRevocation(tx, id, id, 'api-key-revoked');
      await this.outbox.addAudit(tx, {
        id: randomUUID(),
        actorId: actor.subject,
        action: 'api-key.revoke',
        targetType: 'api-key',
        targetId: id,
        before: audited(before),
        after: audited(after),
        requestId,
        at: new Date().toISOString(),
      });
      return true;
    });
    if (changed) this.relay.kick();
  }

  /** Trades a valid API key for a short-lived token the event service can verify on its own. */
  async exchange(key: string) {
    const row = await this.repo.findActiveByHash(this.uow.db, sha256(key));
    const secondsLeft = row?.expiresAt ? Math.floor((row.expiresAt.getTime() - Date.now()) / 1000) : Infinity;
    if (!row || secondsLeft < 1) throw new AppError('UNAUTHENTICATED', 'API key is invalid, expired or revoked');
    const ttl = Math.min(API_KEY_TOKEN_TTL_SECONDS, secondsLeft);
    await this.repo.touch(this.uow.db, row.id);
    return {
      token: await this.keys.signApiKeyToken(row.id, row.scopes, ttl),
      expiresIn: ttl,
      keyId: row.id,
    };
  }
}
