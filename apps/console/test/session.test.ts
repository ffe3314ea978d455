import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, Session } from '../src/api/session';

const USER = {
  id: 'u1',
  email: 'op@example.com',
  displayName: 'op',
  roles: ['OPERATOR'],
  inviteCode: 'x',
  createdAt: '',
};
const tokens = (n: number, expiresIn = 900) => ({
  accessToken: `a${n}`,
  refreshToken: `r${n}`,
  tokenType: 'Bearer',
  expiresIn,
});
const json = (status: number, body?: unknown) =>
  new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });

/** A fake API: answers by path, recording each request's path and bearer token. */
function fakeApi(routes: Record<string, (auth: string | undefined, body: unknown) => Response>) {
  const seen: { path: string; auth?: string }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const path = new URL(url, 'http://console.test').pathname.replace('/api/v1', '');
    const auth = (init.headers as Record<string, string>).authorization;
    seen.push({ path, auth });
    const handler = routes[`${init.method} ${path}`];
    return handler ? handler(auth, init.body ? JSON.parse(String(init.body)) : undefined) : json(404, {});
  });
  return seen;
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
  localStorage.clear();
});

describe('the session', () => {
  it('keeps the tokens in the tab (sessionStorage), never in localStorage, and restores them on reload', async () => {
    fakeApi({ 'POST /auth/login': () => json(200, tokens(1)), 'GET /auth/me': () => json(200, { user: USER }) });
    const session = new Session('', sessionStorage);
    expect(await session.signIn('op@example.com', 'pw')).toEqual(USER);
    expect(JSON.parse(sessionStorage.getItem('rewards.console.session')!)).toMatchObject({
      accessToken: 'a1',
      refreshToken: 'r1',
    });
    expect(JSON.stringify({ ...localStorage })).not.toContain('a1');
    expect(new Session('', sessionStorage).signedIn).toBe(true);
  });

  it('refreshes once on a 401 and retries; a refused refresh signs out', async () => {
    let refreshOk = true;
    const seen = fakeApi({
      'POST /auth/login': () => json(200, tokens(1)),
      'GET /auth/me': (auth) =>
        auth === 'Bearer a2' || auth === 'Bearer a1' ? json(200, { user: USER }) : json(401, {}),
      'GET /events': (auth) =>
        auth === 'Bearer a2'
          ? json(200, { items: [], nextCursor: null })
          : json(401, { error: { code: 'UNAUTHENTICATED', message: 'Token is invalid or expired' } }),
      'POST /auth/refresh': (_a, body) =>
        refreshOk && (body as { refreshToken: string }).refreshToken === 'r1'
          ? json(200, tokens(2))
          : json(401, { error: { code: 'INVALID_REFRESH_TOKEN', message: 'Refresh token is invalid' } }),
    });
    const session = new Session('', sessionStorage);
    await session.signIn('op@example.com', 'pw');
    expect(await session.call('listEvents')).toEqual({ items: [], nextCursor: null });
    expect(seen.filter((s) => s.path === '/events').map((s) => s.auth)).toEqual(['Bearer a1', 'Bearer a2']);

    refreshOk = false;
    sessionStorage.setItem(
      'rewards.console.session',
      JSON.stringify({ accessToken: 'a9', refreshToken: 'r9', expiresAt: Date.now() + 900_000, ttl: 900_000 }),
    );
    const stale = new Session('', sessionStorage);
    const signedOut = vi.fn();
    stale.subscribe(signedOut);
    const err = await stale.call('listEvents').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('UNAUTHENTICATED');
    expect(stale.signedIn).toBe(false);
    expect(signedOut).toHaveBeenCalled();
    expect(sessionStorage.getItem('rewards.console.session')).toBeNull();
  });

  it('refreshes ahead of expiry, before the call', async () => {
    const seen = fakeApi({
      'POST /auth/refresh': () => json(200, tokens(2)),
      'GET /events': (auth) => (auth === 'Bearer a2' ? json(200, { items: [], nextCursor: null }) : json(401, {})),
    });
    sessionStorage.setItem(
      'rewards.console.session',
      JSON.stringify({ accessToken: 'a1', refreshToken: 'r1', expiresAt: Date.now() + 5_000, ttl: 900_000 }),
    );
    const session = new Session('', sessionStorage);
    await session.call('listEvents');
    expect(seen.map((s) => s.path)).toEqual(['/auth/refresh', '/events']);
  });
});
