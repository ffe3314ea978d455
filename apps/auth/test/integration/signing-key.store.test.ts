import { randomUUID } from 'node:crypto';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@rewards/contracts';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { eq, isNull, sql } from 'drizzle-orm';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { authDatabase } from '../../../../test/support/databases.js';
import type { AuthConfig } from '../../src/config.js';
import { LocalTokenVerifier } from '../../src/keys/local-token.verifier.js';
import { SigningKeyRepository } from '../../src/keys/signing-key.repository.js';
import { SigningKeyStore } from '../../src/keys/signing-key.store.js';
import { signingKeys } from '../../src/schema.js';
import { SessionRepository } from '../../src/sessions/session.repository.js';
import { UserRepository } from '../../src/users/user.repository.js';
import { appError, authConfig, userRow } from '../support/auth.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const config = authConfig({ ACCESS_TOKEN_TTL_SECONDS: 600 });

describe('signing and verifying tokens', () => {
  const ctx = authDatabase();
  /** One auth instance's key store. */
  const store = (cfg: AuthConfig = config) =>
    new SigningKeyStore(new UnitOfWork(ctx.database), new SigningKeyRepository(), cfg);

  describe(SigningKeyStore.name, () => {
    let sut: SigningKeyStore;

    const activeKeys = () => ctx.database.db.select().from(signingKeys).where(isNull(signingKeys.retiredAt));

    /** Signs with the stored private key, for tokens the store itself would never issue. */
    async function signWithStoredKey(
      build: (jwt: SignJWT) => SignJWT,
      header: Record<string, unknown> = {},
    ): Promise<string> {
      const [row] = await activeKeys();
      const jwk = row!.privateJwk as JWK;
      return build(new SignJWT({ sid: randomUUID(), roles: ['USER'] }))
        .setProtectedHeader({ alg: 'ES256', kid: row!.kid, ...header })
        .sign(await importJWK(jwk, 'ES256'));
    }

    it('creates exactly one signing key when several instances load at once', async () => {
      const stores = [0, 1, 2].map(() => store());

      await Promise.all(stores.map((s) => s.load()));

      const rows = await activeKeys();
      expect(rows).toHaveLength(1);
      expect(stores.map((s) => s.publicJwks.keys.map((k) => k.kid))).toEqual([
        [rows[0]!.kid],
        [rows[0]!.kid],
        [rows[0]!.kid],
      ]);
      sut = stores[0]!;
    });

    it('publishes the public part of the key only', async () => {
      const [row] = await activeKeys();

      const { keys } = sut.publicJwks;

      expect(keys).toEqual([
        {
          kty: 'EC',
          crv: 'P-256',
          x: expect.any(String),
          y: expect.any(String),
          kid: row!.kid,
          alg: 'ES256',
          use: 'sig',
        },
      ]);
      expect(JSON.stringify(keys)).not.toContain('"d"');
      expect(row!.kid).toMatch(UUID);
    });

    it('signs access tokens carrying kid, issuer, audience, subject, session, roles and expiry', async () => {
      const userId = randomUUID();
      const sid = randomUUID();

      const token = await sut.signAccessToken(userId, ['USER', 'OPERATOR'], sid);

      expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: sut.publicJwks.keys[0]!.kid, typ: 'JWT' });
      const claims = decodeJwt(token);
      expect(claims).toEqual({
        iss: TOKEN_ISSUER,
        aud: TOKEN_AUDIENCE,
        sub: userId,
        sid,
        roles: ['USER', 'OPERATOR'],
        jti: expect.stringMatching(UUID),
        iat: expect.any(Number),
        exp: claims.iat! + 600,
      });
      expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(60);
    });

    it('verifies the tokens it signs', async () => {
      const token = await sut.signAccessToken('user-1', ['ADMIN'], 'session-1');

      await expect(sut.verify(token)).resolves.toMatchObject({ sub: 'user-1', sid: 'session-1', roles: ['ADMIN'] });
    });

    it('signs tokens anyone can verify against the published JWKS', async () => {
      const token = await sut.signAccessToken('user-1', ['USER'], 'session-1');

      const { payload } = await jwtVerify(token, createLocalJWKSet(sut.publicJwks), {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
      });

      expect(payload.sub).toBe('user-1');
    });

    it("signs API-key tokens with the key's scopes and its id as the session", async () => {
      const token = await sut.signApiKeyToken('key-1', ['activities:write', 'grants:read'], 300);

      const payload = await sut.verify(token);

      expect(payload).toEqual({
        kind: 'api-key',
        scope: 'activities:write grants:read',
        sid: 'key-1',
        roles: [],
        iss: TOKEN_ISSUER,
        aud: TOKEN_AUDIENCE,
        sub: 'key-1',
        iat: expect.any(Number),
        exp: payload.iat! + 300,
      });
    });

    it('shares the stored key with other instances', async () => {
      const other = store();
      await other.load();

      expect(other.publicJwks).toEqual(sut.publicJwks);
      await expect(other.verify(await sut.signAccessToken('user-1', ['USER'], 's-1'))).resolves.toMatchObject({
        sub: 'user-1',
      });
      await expect(sut.verify(await other.signAccessToken('user-2', ['USER'], 's-2'))).resolves.toMatchObject({
        sub: 'user-2',
      });
    });

    it('refuses a token with an altered payload', async () => {
      const [header, , signature] = (await sut.signAccessToken('user-1', ['USER'], 's-1')).split('.');
      const payload = Buffer.from(
        JSON.stringify({ ...decodeJwt(await sut.signAccessToken('user-1', ['USER'], 's-1')), roles: ['ADMIN'] }),
      ).toString('base64url');

      await expect(sut.verify(`${header}.${payload}.${signature}`)).rejects.toThrow();
    });

    it('refuses tokens of another issuer or audience, expired ones and ones without expiry', async () => {
      const now = Math.floor(Date.now() / 1000);
      const tokens = await Promise.all([
        signWithStoredKey((j) =>
          j.setIssuer('someone-else').setAudience(TOKEN_AUDIENCE).setSubject('u').setExpirationTime('5m'),
        ),
        signWithStoredKey((j) =>
          j.setIssuer(TOKEN_ISSUER).setAudience('another-app').setSubject('u').setExpirationTime('5m'),
        ),
        signWithStoredKey((j) =>
          j
            .setIssuer(TOKEN_ISSUER)
            .setAudience(TOKEN_AUDIENCE)
            .setSubject('u')
            .setExpirationTime(now - 10),
        ),
        signWithStoredKey((j) => j.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject('u')),
        signWithStoredKey((j) => j.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setExpirationTime('5m')),
      ]);
      const control = await signWithStoredKey((j) =>
        j.setIssuer(TOKEN_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject('u').setExpirationTime('5m'),
      );

      for (const token of tokens) await expect(sut.verify(token)).rejects.toThrow();
      await expect(sut.verify(control)).resolves.toMatchObject({ sub: 'u' });
    });

    it('refuses an unsigned token and a token of an unknown key', async () => {
      const kid = sut.publicJwks.keys[0]!.kid!;
      const now = Math.floor(Date.now() / 1000);
      const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', kid })}.${b64({ iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, sub: 'u', sid: 's', exp: now + 300 })}.`;
      const { privateKey } = await generateKeyPair('ES256');
      const stranger = await new SignJWT({ sid: 's' })
        .setProtectedHeader({ alg: 'ES256', kid: 'not-ours' })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject('u')
        .setExpirationTime('5m')
        .sign(privateKey);
      const strangerClaimingOurKid = await new SignJWT({ sid: 's' })
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setSubject('u')
        .setExpirationTime('5m')
        .sign(privateKey);

      await expect(sut.verify(unsigned)).rejects.toThrow();
      await expect(sut.verify(stranger)).rejects.toThrow('unknown key');
      await expect(sut.verify(strangerClaimingOurKid)).rejects.toThrow();
    });

    it('signs with a configured AUTH_SIGNING_JWK and publishes it next to the stored key', async () => {
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), kid: 'configured-key' };
      const stored = sut.publicJwks.keys[0]!.kid;
      const configured = store(authConfig({ AUTH_SIGNING_JWK: JSON.stringify(jwk) }));

      await configured.load();
      const token = await configured.signAccessToken('user-1', ['USER'], 's-1');

      expect(decodeProtectedHeader(token).kid).toBe('configured-key');
      expect(configured.publicJwks.keys.map((k) => k.kid).sort()).toEqual(['configured-key', stored].sort());
      expect(JSON.stringify(configured.publicJwks)).not.toContain(jwk.d);
      await expect(configured.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
      await expect(configured.verify(await sut.signAccessToken('user-2', ['USER'], 's-2'))).resolves.toMatchObject({
        sub: 'user-2',
      });
    });

    it('refuses a configured key that is not a private EC key with a kid', async () => {
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      const withoutPrivatePart = { ...(await exportJWK(publicKey)), kid: 'k' };

      for (const text of [
        JSON.stringify(withoutPrivatePart),
        JSON.stringify({ ...withoutPrivatePart, kid: undefined, d: 'x' }),
      ]) {
        await expect(store(authConfig({ AUTH_SIGNING_JWK: text })).load()).rejects.toThrow(
          'AUTH_SIGNING_JWK must be a private EC P-256 JWK with a kid',
        );
      }
    });

    it('generates a new key once the stored one is retired, and no longer publishes the retired one', async () => {
      const old = sut.publicJwks.keys[0]!.kid!;
      await ctx.database.db.update(signingKeys).set({ retiredAt: sql`now()` }).where(eq(signingKeys.kid, old));

      const next = store();
      await next.load();

      const kids = next.publicJwks.keys.map((k) => k.kid);
      expect(kids).toHaveLength(1);
      expect(kids[0]).not.toBe(old);
      expect(decodeProtectedHeader(await next.signAccessToken('u', ['USER'], 's')).kid).toBe(kids[0]);
      await expect(next.verify(await sut.signAccessToken('u', ['USER'], 's'))).rejects.toThrow('unknown key');
    });
  });

  describe(LocalTokenVerifier.name, () => {
    let keys: SigningKeyStore;
    let sessions: SessionRepository;
    let sut: LocalTokenVerifier;
    let userId: string;

    beforeAll(async () => {
      keys = store();
      await keys.load();
      sessions = new SessionRepository();
      sut = new LocalTokenVerifier(keys, new UnitOfWork(ctx.database), sessions);
      userId = (await new UserRepository().insert(ctx.database.db, userRow())).id;
    });

    it("accepts a token of the user's current session", async () => {
      const sid = randomUUID();
      await sessions.upsert(ctx.database.db, userId, sid);

      await expect(sut.verify(await keys.signAccessToken(userId, ['USER'], sid))).resolves.toEqual({
        kind: 'user',
        subject: userId,
        roles: ['USER'],
        sessionId: sid,
      });
    });

    it('refuses a token of a replaced or ended session', async () => {
      const [first, second] = [randomUUID(), randomUUID()];
      await sessions.upsert(ctx.database.db, userId, first!);
      const firstToken = await keys.signAccessToken(userId, ['USER'], first!);
      await sessions.upsert(ctx.database.db, userId, second!);
      const secondToken = await keys.signAccessToken(userId, ['USER'], second!);

      const replaced = await appError(sut.verify(firstToken));
      expect(replaced.code).toBe('UNAUTHENTICATED');
      expect(replaced.message).toBe('Session has ended');
      await expect(sut.verify(secondToken)).resolves.toMatchObject({ sessionId: second });

      await sessions.revoke(ctx.database.db, userId, 'logout');
      expect((await appError(sut.verify(secondToken))).message).toBe('Session has ended');
    });

    it('accepts an API-key token without a session', async () => {
      await expect(sut.verify(await keys.signApiKeyToken('key-1', ['activities:write'], 60))).resolves.toEqual({
        kind: 'api-key',
        subject: 'key-1',
        roles: [],
        sessionId: 'key-1',
        scopes: ['activities:write'],
      });
    });

    it('refuses what is not a valid token with 401', async () => {
      for (const token of ['garbage', '', 'a.b.c']) {
        const err = await appError(sut.verify(token));
        expect(err.code).toBe('UNAUTHENTICATED');
        expect(err.message).toBe('Token is invalid or expired');
      }
    });
  });
});
