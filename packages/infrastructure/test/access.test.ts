import { compilePath, routes, type RouteDef } from '@rewards/contracts';
import { describe, expect, it, vi } from 'vitest';
import { authorize, bearerToken } from '../src/access.js';
import { AppError } from '../src/errors.js';
import type { Principal, TokenVerifier } from '../src/principal.js';

const route = (access: RouteDef['access'], extra: Partial<RouteDef> = {}): RouteDef => ({
  method: 'POST',
  path: '/things',
  service: 'event',
  access,
  summary: 'test route',
  tag: 'test',
  status: 200,
  errors: [],
  ...extra,
});

const user = (roles: Principal['roles']): Principal => ({ kind: 'user', subject: 'u-1', roles, sessionId: 's-1' });
const apiKey = (scope = 'activities:write'): Principal => ({
  kind: 'api-key',
  subject: 'k-1',
  roles: [],
  sessionId: 'k-1',
  scopes: [scope],
});

/** The verifier is a port; a table of known tokens stands in for signature checks here. */
function fakeVerifier(tokens: Record<string, Principal>): TokenVerifier & { verify: ReturnType<typeof vi.fn> } {
  return {
    verify: vi.fn(async (token: string) => {
      const principal = tokens[token];
      if (!principal) throw new AppError('UNAUTHENTICATED', 'Token is invalid or expired');
      return principal;
    }),
  };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

describe(bearerToken.name, () => {
  it('extracts the token of a Bearer header', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
  });

  it('accepts any case of the scheme and surrounding whitespace', () => {
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER abc')).toBe('abc');
    expect(bearerToken('  Bearer abc  ')).toBe('abc');
  });

  it('accepts the base64url and base64 token alphabet', () => {
    expect(bearerToken('Bearer eyJ0-_.A+/b=~')).toBe('eyJ0-_.A+/b=~');
  });

  it.each([
    ['a missing header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and a space', 'Bearer '],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['a token without scheme', 'abc.def.ghi'],
    ['two spaces', 'Bearer  abc'],
    ['two tokens', 'Bearer abc def'],
    ['characters outside the token alphabet', 'Bearer abc<script>'],
    ['a repeated header', ['Bearer a', 'Bearer b']],
  ])('refuses %s', (_name, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });

  it('refuses tokens over 4096 characters', () => {
    expect(bearerToken(`Bearer ${'a'.repeat(4096)}`)).toBe('a'.repeat(4096));
    expect(bearerToken(`Bearer ${'a'.repeat(4097)}`)).toBeUndefined();
  });
});

describe(authorize.name, () => {
  const verifier = fakeVerifier({
    'user-token': user(['USER']),
    'operator-token': user(['USER', 'OPERATOR']),
    'admin-token': user(['ADMIN']),
    'no-roles-token': user([]),
    'ingest-key-token': apiKey(),
    'other-key-token': apiKey('something:else'),
  });

  it('lets anyone through a public route without looking at the token', async () => {
    const sut = fakeVerifier({});

    await expect(authorize(route('public'), undefined, sut)).resolves.toBeUndefined();
    await expect(authorize(route('public'), 'Bearer garbage', sut)).resolves.toBeUndefined();
    expect(sut.verify).not.toHaveBeenCalled();
  });

  it('asks for a token on other routes', async () => {
    const err = await failure(authorize(route('authenticated'), undefined, verifier));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.status).toBe(401);
    expect(err.message).toBe('Sign in first: send Authorization: Bearer <accessToken>');
  });

  it('asks for a token when the header is not a Bearer header', async () => {
    expect((await failure(authorize(route(['ADMIN']), 'Basic YTpi', verifier))).code).toBe('UNAUTHENTICATED');
  });

  it("passes on the verifier's refusal", async () => {
    const err = await failure(authorize(route('authenticated'), 'Bearer forged', verifier));

    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe('Token is invalid or expired');
  });

  it('returns the principal of any signed-in user on an authenticated route', async () => {
    await expect(authorize(route('authenticated'), 'Bearer user-token', verifier)).resolves.toEqual(user(['USER']));
    await expect(authorize(route('authenticated'), 'Bearer no-roles-token', verifier)).resolves.toEqual(user([]));
  });

  it('admits a user holding one of the listed roles', async () => {
    const sut = route(['OPERATOR', 'ADMIN']);

    await expect(authorize(sut, 'Bearer operator-token', verifier)).resolves.toEqual(user(['USER', 'OPERATOR']));
    await expect(authorize(sut, 'Bearer admin-token', verifier)).resolves.toEqual(user(['ADMIN']));
  });

  it('refuses a user holding none of the listed roles with 403 naming them', async () => {
    const err = await failure(authorize(route(['OPERATOR', 'ADMIN']), 'Bearer user-token', verifier));

    expect(err.code).toBe('FORBIDDEN');
    expect(err.status).toBe(403);
    expect(err.message).toBe('Requires one of the roles: OPERATOR, ADMIN');
  });

  it('admits an ingestion API key on a route that accepts API keys', async () => {
    await expect(
      authorize(route(['ADMIN'], { apiKeyScope: 'activities:write' }), 'Bearer ingest-key-token', verifier),
    ).resolves.toEqual(apiKey());
  });

  it('refuses an API key on a route that does not accept API keys, even an authenticated one', async () => {
    for (const access of ['authenticated', ['ADMIN']] as const) {
      const err = await failure(authorize(route(access), 'Bearer ingest-key-token', verifier));
      expect(err.code).toBe('FORBIDDEN');
      expect(err.message).toBe('API keys are not accepted on this route');
    }
  });

  it('refuses an API key with another scope on an API-key route', async () => {
    const err = await failure(
      authorize(route(['ADMIN'], { apiKeyScope: 'activities:write' }), 'Bearer other-key-token', verifier),
    );

    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toBe('This API key lacks the scope activities:write');
  });

  it('admits a key holding the route scope among others, and refuses a grants-only key on the ingest route', async () => {
    const both: Principal = {
      kind: 'api-key',
      subject: 'k-2',
      roles: [],
      sessionId: 'k-2',
      scopes: ['grants:read', 'activities:write'],
    };
    const keys = fakeVerifier({ 'both-token': both, 'grants-token': apiKey('grants:read') });

    await expect(
      authorize(route(['ADMIN'], { apiKeyScope: 'activities:write' }), 'Bearer both-token', keys),
    ).resolves.toEqual(both);
    await expect(
      authorize(route(['ADMIN'], { apiKeyScope: 'grants:read' }), 'Bearer grants-token', keys),
    ).resolves.toEqual(apiKey('grants:read'));
    expect(
      (await failure(authorize(route(['ADMIN'], { apiKeyScope: 'activities:write' }), 'Bearer grants-token', keys)))
        .code,
    ).toBe('FORBIDDEN');
  });

  it('still applies the role list to users on an API-key route', async () => {
    const sut = route(['ADMIN'], { apiKeyScope: 'activities:write' });

    await expect(authorize(sut, 'Bearer admin-token', verifier)).resolves.toEqual(user(['ADMIN']));
    expect((await failure(authorize(sut, 'Bearer user-token', verifier))).code).toBe('FORBIDDEN');
  });

  it('applies the contract policy of the real routes', async () => {
    await expect(authorize(routes.login, undefined, verifier)).resolves.toBeUndefined();
    await expect(authorize(routes.me, 'Bearer user-token', verifier)).resolves.toEqual(user(['USER']));
    expect((await failure(authorize(routes.listUsers, 'Bearer operator-token', verifier))).code).toBe('FORBIDDEN');
    await expect(authorize(routes.setRoles, 'Bearer admin-token', verifier)).resolves.toEqual(user(['ADMIN']));
  });
});

describe(compilePath.name, () => {
  it('matches a path without parameters exactly, with an optional trailing slash', () => {
    const sut = compilePath('/auth/me');

    expect(sut('/auth/me')).toEqual({});
    expect(sut('/auth/me/')).toEqual({});
    expect(sut('/auth/mex')).toBeNull();
    expect(sut('/auth')).toBeNull();
    expect(sut('/api/v1/auth/me')).toBeNull();
  });

  it('extracts several parameters', () => {
    const sut = compilePath('/events/{eventId}/rewards/{rewardId}');

    expect(sut('/events/e1/rewards/r2')).toEqual({ eventId: 'e1', rewardId: 'r2' });
  });

  it('decodes percent-encoded parameters', () => {
    expect(compilePath('/users/{id}/roles')('/users/a%20b/roles')).toEqual({ id: 'a b' });
  });

  it('does not let a parameter span segments or be empty', () => {
    const sut = compilePath('/users/{id}/roles');

    expect(sut('/users/a/b/roles')).toBeNull();
    expect(sut('/users//roles')).toBeNull();
  });

  it('treats regex characters in the template literally', () => {
    const sut = compilePath('/a.b/{id}');

    expect(sut('/a.b/1')).toEqual({ id: '1' });
    expect(sut('/axb/1')).toBeNull();
  });

  it('refuses a query string (callers strip it first)', () => {
    expect(compilePath('/users')('/users?role=ADMIN')).toBeNull();
  });
});
