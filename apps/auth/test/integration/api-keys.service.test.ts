import { randomUUID } from 'node:crypto';
import type { Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { eq, sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, silentLogger } from '../../../../test/support/databases.js';
import { ApiKeyRepository } from '../../src/api-keys/api-key.repository.js';
import { API_KEY_TOKEN_TTL_SECONDS, ApiKeysService } from '../../src/api-keys/api-keys.service.js';
import { sha256 } from '../../src/auth/auth.service.js';
import { LocalTokenVerifier } from '../../src/keys/local-token.verifier.js';
import { SigningKeyRepository } from '../../src/keys/signing-key.repository.js';
import { SigningKeyStore } from '../../src/keys/signing-key.store.js';
import { OutboxRelay } from '../../src/outbox/outbox.relay.js';
import { OutboxRepository } from '../../src/outbox/outbox.repository.js';
import { apiKeys, outbox, sessionRevocations } from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { appError, authConfig, userRow } from '../support/auth.js';

const REQUEST_ID = 'req-api-key-1';

describe(ApiKeysService.name, () => {
  describe('on PostgreSQL', () => {
    const ctx = authDatabase();
    let keys: SigningKeyStore;
    let sut: ApiKeysService;
    let admin: Principal;

    beforeAll(async () => {
      const uow = new UnitOfWork(ctx.database);
      keys = new SigningKeyStore(uow, new SigningKeyRepository(), authConfig());
      await keys.load();
      sut = new ApiKeysService(
        new ApiKeyRepository(),
        new SessionRepository(),
        keys,
        uow,
        new OutboxRepository(),
        new OutboxRelay(uow, new OutboxRepository(), authConfig(), silentLogger),
      );
      const row = await new UserRepository().insert(ctx.database.db, userRow({ roles: ['ADMIN'] }));
      admin = { kind: 'user', subject: row.id, roles: ['ADMIN'], sessionId: randomUUID() };
    });

    const stored = async (id: string) => (await ctx.database.db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0];
    const auditOf = async (id: string) =>
      (
        await ctx.database.db
          .select()
          .from(outbox)
          .where(sql`${outbox.topic} = 'audit' and ${outbox.payload}->>'targetId' = ${id}`)
          .orderBy(outbox.id)
      ).map((r) => r.payload as Record<string, unknown>);
    const create = (
      name: string,
      extra: { scopes?: ('activities:write' | 'grants:read')[]; expiresAt?: string } = {},
    ) =>
      sut.create(admin, REQUEST_ID, { name, scopes: extra.scopes ?? ['activities:write'], expiresAt: extra.expiresAt });
    const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

    it('returns the key once and stores only its SHA-256 hash', async () => {
      const created = await create('game-server-1');

      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'game-server-1',
        scopes: ['activities:write'],
        key: expect.stringMatching(/^rk_[A-Za-z0-9_-]{43}$/),
        expiresAt: null,
        createdAt: expect.stringMatching(ISO),
      });
      const row = await stored(created.id);
      expect(row).toEqual({
        id: created.id,
        name: 'game-server-1',
        keyHash: sha256(created.key),
        scopes: ['activities:write'],
        expiresAt: null,
        lastUsedAt: null,
        createdBy: admin.subject,
        createdAt: new Date(created.createdAt),
        revokedAt: null,
        revokedBy: null,
      });
      expect(JSON.stringify(row)).not.toContain(created.key);
      expect(JSON.stringify(row)).not.toContain(created.key.slice(3));
    });

    it('keeps the scopes and expiry it was given', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
      const created = await create('feed-reader', { scopes: ['grants:read', 'activities:write'], expiresAt });

      expect(created).toMatchObject({ scopes: ['grants:read', 'activities:write'], expiresAt });
      expect(await stored(created.id)).toMatchObject({
        scopes: ['grants:read', 'activities:write'],
        expiresAt: new Date(expiresAt),
      });
    });

    it('records the creation for the audit log, without the key', async () => {
      const created = await create('game-server-audited');

      const entries = await auditOf(created.id);

      expect(entries).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          actorId: admin.subject,
          action: 'api-key.create',
          targetType: 'api-key',
          targetId: created.id,
          before: null,
          after: {
            id: created.id,
            name: 'game-server-audited',
            scopes: ['activities:write'],
            expiresAt: null,
            revokedAt: null,
          },
          requestId: REQUEST_ID,
          at: expect.any(String),
        },
      ]);
      expect(JSON.stringify(entries)).not.toContain(created.key.slice(3));
    });

    it('creates a different key every time', async () => {
      const [a, b] = await Promise.all([create('a'), create('b')]);

      expect(a.key).not.toBe(b.key);
      expect(a.id).not.toBe(b.id);
    });

    it('exchanges a key for a short-lived token carrying its scopes and its id as the session, and notes the use', async () => {
      const created = await create('game-server-2', { scopes: ['activities:write', 'grants:read'] });

      const exchanged = await sut.exchange(created.key);

      expect(exchanged).toEqual({ token: expect.any(String), expiresIn: API_KEY_TOKEN_TTL_SECONDS, keyId: created.id });
      const payload = await keys.verify(exchanged.token);
      expect(payload).toMatchObject({
        kind: 'api-key',
        scope: 'activities:write grants:read',
        sub: created.id,
        sid: created.id,
        roles: [],
      });
      expect(payload.exp! - payload.iat!).toBe(API_KEY_TOKEN_TTL_SECONDS);
      expect(decodeJwt(exchanged.token).sid).toBe(created.id);
      const verifier = new LocalTokenVerifier(keys, new UnitOfWork(ctx.database), new SessionRepository());
      await expect(verifier.verify(exchanged.token)).resolves.toEqual({
        kind: 'api-key',
        subject: created.id,
        roles: [],
        sessionId: created.id,
        scopes: ['activities:write', 'grants:read'],
      });
      const { lastUsedAt } = (await stored(created.id))!;
      expect(Math.abs(lastUsedAt!.getTime() - Date.now())).toBeLessThan(5000);
    });

    it('never issues a token that outlives the key, and refuses an expired key', async () => {
      const soon = await create('short-lived', { expiresAt: new Date(Date.now() + 90_500).toISOString() });
      const exchanged = await sut.exchange(soon.key);
      expect(exchanged.expiresIn).toBeGreaterThanOrEqual(88);
      expect(exchanged.expiresIn).toBeLessThanOrEqual(90);
      const payload = await keys.verify(exchanged.token);
      expect(payload.exp! * 1000).toBeLessThanOrEqual(Date.parse(soon.expiresAt!) + 1000);

      const expired = await create('expired', { expiresAt: new Date(Date.now() + 60_000).toISOString() });
      await ctx.database.db
        .update(apiKeys)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(apiKeys.id, expired.id));
      const err = await appError(sut.exchange(expired.key));
      expect({ code: err.code, message: err.message }).toEqual({
        code: 'UNAUTHENTICATED',
        message: 'API key is invalid, expired or revoked',
      });
      expect((await stored(expired.id))!.lastUsedAt).toBeNull();
    });

    it('refuses an unknown key with UNAUTHENTICATED', async () => {
      const created = await create('game-server-3');

      for (const key of ['rk_unknown', `${created.key}x`, created.key.toUpperCase(), '']) {
        const err = await appError(sut.exchange(key));
        expect(err.code).toBe('UNAUTHENTICATED');
        expect(err.status).toBe(401);
        expect(err.message).toBe('API key is invalid, expired or revoked');
      }
    });

    it('lists keys newest first, page by page, never with the key or its hash', async () => {
      const made = [];
      for (const name of ['list-1', 'list-2', 'list-3']) made.push(await create(name));
      await sut.exchange(made[1]!.key);

      const first = await sut.list({ limit: 2 });
      const second = await sut.list({ limit: 2, cursor: first.nextCursor! });

      const all = [...first.items, ...second.items];
      expect(all.slice(0, 3).map((k) => k.name)).toEqual(['list-3', 'list-2', 'list-1']);
      expect(all[1]).toEqual({
        id: made[1]!.id,
        name: 'list-2',
        scopes: ['activities:write'],
        expiresAt: null,
        createdAt: made[1]!.createdAt,
        lastUsedAt: expect.stringMatching(ISO),
        revokedAt: null,
      });
      expect(first.nextCursor).toEqual(expect.any(String));
      const text = JSON.stringify(all);
      for (const m of made) {
        expect(text).not.toContain(m.key.slice(3));
        expect(text).not.toContain(sha256(m.key));
      }
    });

    it('revokes a key: refused from then on, published on the revocation feed, audited once', async () => {
      const created = await create('game-server-4');

      await sut.revoke(admin, REQUEST_ID, created.id);
      await sut.revoke(admin, 'req-again', created.id);

      expect((await appError(sut.exchange(created.key))).code).toBe('UNAUTHENTICATED');
      const row = (await stored(created.id))!;
      expect(row.revokedAt).toBeInstanceOf(Date);
      expect(row.revokedBy).toBe(admin.subject);
      const revocations = await ctx.database.db
        .select({ sessionId: sessionRevocations.sessionId, reason: sessionRevocations.reason })
        .from(sessionRevocations)
        .where(eq(sessionRevocations.userId, created.id));
      expect(revocations).toEqual([{ sessionId: created.id, reason: 'api-key-revoked' }]);
      const entries = await auditOf(created.id);
      expect(entries.map((e) => e.action)).toEqual(['api-key.create', 'api-key.revoke']);
      expect(entries[1]).toMatchObject({
        actorId: admin.subject,
        before: { id: created.id, revokedAt: null },
        after: { id: created.id, revokedAt: row.revokedAt!.toISOString() },
        requestId: REQUEST_ID,
      });
    });

    it('answers NOT_FOUND for revoking an unknown key', async () => {
      const err = await appError(sut.revoke(admin, REQUEST_ID, randomUUID()));
      expect({ code: err.code, status: err.status }).toEqual({ code: 'NOT_FOUND', status: 404 });
    });
  });
});
