import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, type ApiKeyScope, type Role } from '@rewards/contracts';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { exportJWK, generateKeyPair, importJWK, SignJWT, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { SigningKeyRepository } from './signing-key.repository.js';

type Key = Awaited<ReturnType<typeof importJWK>>;

/**
 * Holds auth's signing keys. The private key is generated on first start and kept in auth's
 * database (or read from AUTH_SIGNING_JWK); every instance signs with the newest active key and
 * publishes all active public keys, so a rotation needs no downtime.
 */
@Injectable()
export class SigningKeyStore {
  private signing!: { kid: string; key: Key };
  private publicKeys = new Map<string, Key>();
  private jwks: JWK[] = [];

  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: SigningKeyRepository,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async load(): Promise<void> {
    if (this.config.AUTH_SIGNING_JWK) await this.importConfigured(this.config.AUTH_SIGNING_JWK);
    // Under the lock, instances starting at once create one key between them, not one each.
    await this.uow.transaction(async (tx) => {
      await this.repo.lockKeyCreation(tx);
      if (await this.repo.hasActive(tx)) return;
      const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
      const kid = randomUUID();
      const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
      const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
      await this.repo.insert(tx, { kid, privateJwk: priv, publicJwk: pub });
    });
    const rows = await this.repo.listActive(this.uow.db);
    for (const row of rows) {
      const pub = row.publicJwk as JWK;
      this.publicKeys.set(row.kid, await importJWK(pub, 'ES256'));
      this.jwks.push(pub);
    }
    if (!this.config.AUTH_SIGNING_JWK) {
      const newest = rows[0]!;
      this.signing = { kid: newest.kid, key: await importJWK(newest.privateJwk as JWK, 'ES256') };
    }
  }

  private async importConfigured(text: string): Promise<void> {
    const jwk = JSON.parse(text) as JWK;
    if (!jwk.kid || jwk.kty !== 'EC' || !jwk.d) {
      throw new Error('AUTH_SIGNING_JWK must be a private EC P-256 JWK with a kid');
    }
    this.signing = { kid: jwk.kid, key: await importJWK(jwk, 'ES256') };
    const { d: _d, ...pub } = jwk;
    this.publicKeys.set(jwk.kid, await importJWK(pub, 'ES256'));
    this.jwks.push({ ...pub, alg: 'ES256', use: 'sig' });
  }

  get publicJwks(): { keys: JWK[] } {
    return { keys: this.jwks.map(({ kty, crv, x, y, kid, alg, use }) => ({ kty, crv, x, y, kid, alg, use })) };
  }

  async signAccessToken(userId: string, roles: readonly Role[], sessionId: string): Promise<string> {
    return new SignJWT({ roles: [...roles], sid: sessionId })
      .setProtectedHeader({ alg: 'ES256', kid: this.signing.kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(userId)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${this.config.ACCESS_TOKEN_TTL_SECONDS}s`)
      .sign(this.signing.key);
  }

  /**
   * A short-lived token standing for an API key: its scopes space-separated in `scope` (as OAuth
   * does), and the key's id as `sid`, so revoking the key ends the token like a session.
   */
  async signApiKeyToken(keyId: string, scopes: readonly ApiKeyScope[], ttlSeconds: number): Promise<string> {
    return new SignJWT({ kind: 'api-key', scope: scopes.join(' '), sid: keyId, roles: [] })
      .setProtectedHeader({ alg: 'ES256', kid: this.signing.kid, typ: 'JWT' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(keyId)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.signing.key);
  }

  async verify(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(
      token,
      async (header) => {
        const key = header.kid ? this.publicKeys.get(header.kid) : undefined;
        if (!key) throw new Error('unknown key');
        return key;
      },
      { issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE, algorithms: ['ES256'], requiredClaims: ['exp', 'sub'] },
    );
    return payload;
  }
}
