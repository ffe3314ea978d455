import { randomUUID } from 'node:crypto';
import { INGEST_SCOPE, type Principal } from '@rewards/infrastructure';
import { eq, sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase, databaseKinds } from '../../../../test/support/databases.js';
import { ApiKeyRepository } from '../../src/api-keys/api-key.repository.js';
import { API_KEY_TOKEN_TTL_SECONDS, ApiKeysService } from '../../src/api-keys/api-keys.service.js';
import { sha256 } from '../../src/auth/auth.service.js';
import { KeyStore } from '../../src/keys/key-store.js';
import { LocalTokenVerifier } from '../../src/keys/local-token-verifier.js';
import { Outbox, OutboxRelay } from '../../src/outbox/outbox.js';
import { apiKeys, outbox } from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { appError, authConfig, userRow } from '../support/auth.js';

const REQUEST_ID = 'req-api-key-1';

describe(ApiKeysService.name, () => {
  describe.each(databaseKinds)('on %s', (kind) => {
    const ctx = authDatabase(kind);
    let keys: KeyStore;
    let sut: ApiKeysService;
    let admin: Principal;

    beforeAll(async () => {
      keys = new KeyStore(ctx.database, authConfig());
      await keys.load();
      sut = new ApiKeysService(new ApiKeyRepository(ctx.database), keys, ctx.database, new Outbox(), new OutboxRelay(ctx.database, authConfig()));
      const row = await new UserRepository(ctx.database).insert(userRow({ roles: ['ADMIN'] }));
      admin = { kind: 'user', subject: row.id, roles: ['ADMIN'], sessionId: randomUUID() };
    });

    const stored = async (id: string) => (await ctx.database.db.select().from(apiKeys).where(eq(apiKeys.id, id)))[0];

    it('returns the key once and stores only its SHA-256 hash', async () => {
      const created = await sut.create(admin, REQUEST_ID, 'game-server-1');

      expect(created).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'game-server-1', key: expect.stringMatching(/^rk_[A-Za-z0-9_-]{43}$/) });
      const row = await stored(created.id);
      expect(row).toEqual({
        id: created.id,
        name: 'game-server-1',
        keyHash: sha256(created.key),
        createdBy: admin.subject,
        createdAt: expect.any(Date),
        revokedAt: null,
      });
      expect(JSON.stringify(row)).not.toContain(created.key);
      expect(JSON.stringify(row)).not.toContain(created.key.slice(3));
    });

    it('records the creation for the audit log, without the key', async () => {
      const created = await sut.create(admin, REQUEST_ID, 'game-server-audited');

      const entries = (
        await ctx.database.db.select().from(outbox).where(sql`${outbox.topic} = 'audit' and ${outbox.payload}->>'targetId' = ${created.id}`)
      ).map((r) => r.payload);

      expect(entries).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          actorId: admin.subject,
          action: 'api-key.create',
          targetType: 'api-key',
          targetId: created.id,
          before: null,
          after: { id: created.id, name: 'game-server-audited' },
          requestId: REQUEST_ID,
          at: expect.any(String),
        },
      ]);
      expect(JSON.stringify(entries)).not.toContain(created.key.slice(3));
    });

    it('creates a different key every time', async () => {
      const [a, b] = await Promise.all([sut.create(admin, REQUEST_ID, 'a'), sut.create(admin, REQUEST_ID, 'b')]);

      expect(a.key).not.toBe(b.key);
      expect(a.id).not.toBe(b.id);
    });

    it('exchanges a key for a short-lived token scoped to activity ingestion', async () => {
      const created = await sut.create(admin, REQUEST_ID, 'game-server-2');

      const exchanged = await sut.exchange(created.key);

      expect(exchanged).toEqual({ token: expect.any(String), expiresIn: API_KEY_TOKEN_TTL_SECONDS, keyId: created.id });
      const payload = await keys.verify(exchanged.token);
      expect(payload).toMatchObject({ kind: 'api-key', scope: INGEST_SCOPE, sub: created.id, roles: [] });
      expect(payload.exp! - payload.iat!).toBe(API_KEY_TOKEN_TTL_SECONDS);
      expect(decodeJwt(exchanged.token).sid).toBeUndefined();
      const verifier = new LocalTokenVerifier(keys, new SessionRepository(ctx.database));
      await expect(verifier.verify(exchanged.token)).resolves.toEqual({ kind: 'api-key', subject: created.id, roles: [], scope: INGEST_SCOPE });
    });

    it('refuses an unknown key with UNAUTHENTICATED', async () => {
      const created = await sut.create(admin, REQUEST_ID, 'game-server-3');

      for (const key of ['rk_unknown', `${created.key}x`, created.key.toUpperCase(), '']) {
        const err = await appError(sut.exchange(key));
        expect(err.code).toBe('UNAUTHENTICATED');
        expect(err.status).toBe(401);
        expect(err.message).toBe('API key is invalid or revoked');
      }
    });

    it('refuses a revoked key', async () => {
      const created = await sut.create(admin, REQUEST_ID, 'game-server-4');
      await ctx.database.db.update(apiKeys).set({ revokedAt: sql`now()` }).where(eq(apiKeys.id, created.id));

      expect((await appError(sut.exchange(created.key))).code).toBe('UNAUTHENTICATED');
    });
  });
});
