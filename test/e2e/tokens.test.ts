import { randomBytes, randomUUID } from 'node:crypto';
import { createClient, TOKEN_AUDIENCE, TOKEN_ISSUER, type Client } from '@rewards/contracts';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, decodeJwtPart, expectError, logsText, Secrets } from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * Access tokens at the edge. Auth runs with a signing key this file generated (AUTH_SIGNING_JWK),
 * so it can mint tokens exactly like auth's and change one thing at a time: a correctly minted
 * token is accepted (the control), every deviation is refused. Each check runs through the gateway
 * and directly against auth, which verifies tokens again.
 */
describe('access token verification', () => {
  let stack: Stack;
  const secrets = new Secrets();
  const kid = `e2e-${randomUUID()}`;
  let realKey: CryptoKey;
  let foreignKey: CryptoKey;
  let user: { id: string; email: string; password: string };
  let userToken: string;
  let claims: ReturnType<typeof claimsOf>;
  let targets: Array<[string, Client]>;

  const now = () => Math.floor(Date.now() / 1000);

  /** A token like auth's for the signed-in user's current session; `patch` changes claims (undefined removes one). */
  function mint(
    patch: Partial<Record<string, unknown>> = {},
    opts: { key?: CryptoKey; header?: Record<string, unknown> } = {},
  ) {
    const payload: Record<string, unknown> = {
      roles: claims.roles,
      sid: claims.sid,
      iss: TOKEN_ISSUER,
      aud: TOKEN_AUDIENCE,
      sub: claims.sub,
      jti: randomUUID(),
      iat: now(),
      exp: now() + 600,
      ...patch,
    };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete payload[k];
    return new SignJWT(payload as JWTPayload)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT', ...opts.header } as { alg: string })
      .sign(opts.key ?? realKey);
  }

  beforeAll(async () => {
    const real = await generateKeyPair('ES256', { extractable: true });
    realKey = real.privateKey;
    foreignKey = (await generateKeyPair('ES256', { extractable: true })).privateKey;
    const jwk = { ...(await exportJWK(real.privateKey)), kid, alg: 'ES256' };
    stack = await startStack({ env: { AUTH_SIGNING_JWK: JSON.stringify(jwk), LOG_LEVEL: 'debug' } });
    secrets.add('password(admin)', stack.admin.password);
    targets = [
      ['gateway', stack.client],
      ['auth', createClient(stack.authUrl)],
    ];
    user = {
      id: '',
      email: `tok.${randomBytes(3).toString('hex')}@example.com`,
      password: secrets.add('password(user)', randomBytes(9).toString('hex')),
    };
    const reg = await stack.client.call('register', { body: { email: user.email, password: user.password } });
    expect(reg.status).toBe(201);
    user.id = reg.body.user.id;
    const login = await stack.client.call('login', { body: { email: user.email, password: user.password } });
    expect(login.status).toBe(200);
    userToken = secrets.add('access token', login.body.accessToken);
    secrets.add('refresh token', login.body.refreshToken);
    claims = claimsOf(userToken);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function expectRefused(token: string, what: string, authorization?: string) {
    for (const [name, client] of targets) {
      const res = await client.call('me', authorization ? { headers: { authorization } } : { token });
      expect({ target: name, what, status: res.status }).toEqual({ target: name, what, status: 401 });
      expectError(res, 401, 'UNAUTHENTICATED');
    }
  }

  it('auth signs with the configured key and publishes only its public part', async () => {
    expect(decodeJwtPart<{ kid: string; alg: string }>(userToken, 0)).toMatchObject({ kid, alg: 'ES256' });
    const res = await fetch(`${stack.gatewayUrl}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Array<Record<string, unknown>> };
    const ours = keys.find((k) => k.kid === kid);
    expect(ours).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid });
    for (const k of keys) expect(k).not.toHaveProperty('d');
  });

  it('control: a token minted like auth mints them is accepted', async () => {
    const token = await mint();
    for (const [name, client] of targets) {
      const res = await client.call('me', { token });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.body.user.id).toBe(user.id);
    }
  });

  it('refuses an expired token signed with the real key', async () => {
    await expectRefused(await mint({ iat: now() - 1000, exp: now() - 5 }), 'expired');
  });

  it('refuses a token not yet valid', async () => {
    await expectRefused(await mint({ nbf: now() + 600 }), 'nbf in the future');
  });

  it('refuses a wrong audience or issuer, even with the real key', async () => {
    await expectRefused(await mint({ aud: 'some-other-service' }), 'wrong audience');
    await expectRefused(await mint({ iss: 'https://issuer.invalid' }), 'wrong issuer');
  });

  it('refuses tokens missing required claims', async () => {
    await expectRefused(await mint({ exp: undefined }), 'no exp');
    await expectRefused(await mint({ sub: undefined }), 'no sub');
    await expectRefused(await mint({ sid: undefined }), 'no sid');
    await expectRefused(await mint({ aud: undefined }), 'no aud');
  });

  it('refuses a token for a session that is not current', async () => {
    await expectRefused(await mint({ sid: randomUUID() }), 'unknown session');
  });

  it('refuses a token signed with a different ES256 key under the same kid', async () => {
    await expectRefused(await mint({}, { key: foreignKey }), 'foreign key');
    await expectRefused(await mint({ exp: now() - 60 }, { key: foreignKey }), 'foreign key, expired');
    await expectRefused(await mint({ roles: ['ADMIN'] }, { key: foreignKey }), 'foreign key, ADMIN');
  });

  it('refuses a token under an unknown kid or none', async () => {
    await expectRefused(await mint({}, { header: { kid: randomUUID() } }), 'unknown kid');
    await expectRefused(await mint({}, { header: { kid: undefined } }), 'no kid');
  });

  it('refuses alg "none"', async () => {
    const header = b64url({ alg: 'none', typ: 'JWT', kid });
    const body = b64url({ ...claims, iat: now(), exp: now() + 600 });
    await expectRefused(`${header}.${body}.`, 'alg none');
    await expectRefused(`${header}.${body}.${userToken.split('.')[2]}`, 'alg none with a real signature');
  });

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const { createHmac } = await import('node:crypto');
    const jwks = (await (await fetch(`${stack.gatewayUrl}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    const pub = JSON.stringify(jwks.keys.find((k) => k.kid === kid));
    const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid })}.${b64url({ ...claims, iat: now(), exp: now() + 600 })}`;
    const sig = createHmac('sha256', pub).update(signingInput).digest('base64url');
    await expectRefused(`${signingInput}.${sig}`, 'HS256');
  });

  it('refuses a real token whose payload was changed (roles → ADMIN), also on ADMIN routes', async () => {
    const [h, , s] = userToken.split('.');
    const tampered = `${h}.${b64url({ ...claims, roles: ['ADMIN'] })}.${s}`;
    await expectRefused(tampered, 'tampered roles');
    for (const [, client] of targets) {
      expectError(await client.call('listUsers', { token: tampered }), 401, 'UNAUTHENTICATED');
      expectError(await client.call('createApiKey', { token: tampered, body: { name: 'x' } }), 401, 'UNAUTHENTICATED');
    }
    const extended = `${h}.${b64url({ ...claims, exp: claims.exp + 86_400 })}.${s}`;
    await expectRefused(extended, 'tampered exp');
  });

  it('refuses garbage and a token without the Bearer scheme', async () => {
    await expectRefused('', 'garbage', 'Bearer not-a-token');
    await expectRefused('', 'three garbage parts', 'Bearer aaa.bbb.ccc');
    await expectRefused('', 'no scheme', userToken);
    await expectRefused('', 'Basic scheme', `Basic ${b64url(`${user.email}:${user.password}`)}`);
    await expectRefused('', 'Token scheme', `Token ${userToken}`);
    await expectRefused('', 'empty bearer', 'Bearer ');
    await expectRefused('', 'bearer with two tokens', `Bearer ${userToken} ${userToken}`);
    // The real token itself still works: the refusals above are about the form, not the token.
    expect((await stack.client.call('me', { token: userToken })).status).toBe(200);
  });

  it('refuses an API-key token on a user route with 403', async () => {
    const token = await mint({
      kind: 'api-key',
      scope: 'activities:write',
      roles: [],
      sid: undefined,
      sub: randomUUID(),
    });
    for (const [, client] of targets) expectError(await client.call('me', { token }), 403, 'FORBIDDEN');
  });

  it('a USER token on ADMIN routes is 403 FORBIDDEN', async () => {
    for (const [name, client] of targets) {
      const list = await client.call('listUsers', { token: userToken });
      expect({ name, status: list.status }).toEqual({ name, status: 403 });
      expectError(list, 403, 'FORBIDDEN');
      expectError(
        await client.call('setRoles', { token: userToken, params: { id: user.id }, body: { roles: ['ADMIN'] } }),
        403,
        'FORBIDDEN',
      );
      expectError(await client.call('createApiKey', { token: userToken, body: { name: 'mine' } }), 403, 'FORBIDDEN');
    }
    // The token itself is valid: the 403s come from the role check.
    const me = await stack.client.call('me', { token: userToken });
    expect(me.body.user.roles).toEqual(['USER']);
  });

  it('the logs hold no password or token', () => {
    const texts = logsText(stack.logs);
    expect(texts.auth!.split('\n').filter((l) => l.includes('"status":401')).length).toBeGreaterThan(20);
    const hits = Object.entries(texts).flatMap(([name, text]) => secrets.foundIn(text, `${name} log`));
    expect(hits).toEqual([]);
  });
});
