/**
 * Every route of the contract table × every kind of caller, through the gateway.
 *
 * The cases are generated from `routeList`, so a route added to the table is covered without
 * touching this file: the 401/403 expectations come from its `access` policy, and an allowed
 * caller must get past the policy (neither 401 nor 403) without a server error. Routes that
 * exist today also have a precise expectation in `KNOWN`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { API_PREFIX, allows, ROLES, routeList, type Role, type RouteDef } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

type Route = RouteDef & { id: string };
type Caller = 'anonymous' | Role | 'API key';
const CALLERS: readonly Caller[] = ['anonymous', ...ROLES, 'API key'];

/** What an allowed caller gets from a route today, with the request below. */
interface Known {
  /** Replaces the default request body (`{}` for everything but GET). */
  body?: unknown;
  status: number;
  code?: string;
}
const VALIDATION_FAILED = { status: 400, code: 'VALIDATION_FAILED' } as const;
const NOT_FOUND = { status: 404, code: 'NOT_FOUND' } as const;
const OK = { status: 200 } as const;
/** Path ids are random UUIDs, so nothing they name exists: with a valid body, such routes answer 404. */
const KNOWN: Record<string, Known> = {
  register: VALIDATION_FAILED,
  login: VALIDATION_FAILED,
  refresh: VALIDATION_FAILED,
  logout: { status: 204 },
  me: OK,
  listUsers: OK,
  setRoles: { ...NOT_FOUND, body: { roles: ['USER'] } },
  createApiKey: VALIDATION_FAILED,
  listApiKeys: OK,
  revokeApiKey: NOT_FOUND,
  ingestActivities: VALIDATION_FAILED,
  createEvent: VALIDATION_FAILED,
  listEvents: OK,
  getEvent: NOT_FOUND,
  updateEvent: { ...NOT_FOUND, body: { title: 'Renamed' } },
  createReward: { ...NOT_FOUND, body: { type: 'POINT', name: 'Points', quantity: 10 } },
  listRewards: NOT_FOUND,
  progress: NOT_FOUND,
  eventStats: NOT_FOUND,
  createClaim: NOT_FOUND,
  listClaims: OK,
  getClaim: NOT_FOUND,
  decideClaims: { ...OK, body: { decision: 'APPROVE', ids: [randomUUID()] } },
  approveClaim: NOT_FOUND,
  rejectClaim: { ...NOT_FOUND, body: { reason: 'Not eligible' } },
  myRewards: OK,
  grantsFeed: OK,
  auditLog: OK,
  verifyAuditLog: OK,
  createWebhook: VALIDATION_FAILED,
  listWebhooks: OK,
  getWebhook: NOT_FOUND,
  updateWebhook: { ...NOT_FOUND, body: { active: false } },
  deleteWebhook: NOT_FOUND,
  rotateWebhookSecret: NOT_FOUND,
  testWebhook: NOT_FOUND,
  listWebhookDeliveries: NOT_FOUND,
  retryWebhookDelivery: NOT_FOUND,
};

/** Routes that end the caller's session: called with a throwaway account, so the caller's token keeps working. */
const ENDS_SESSION = new Set(['logout']);

type Expectation =
  | { kind: 'denied'; status: 401 | 403; code: 'UNAUTHENTICATED' | 'FORBIDDEN' }
  | { kind: 'known'; status: number; code?: string }
  | { kind: 'allowed' }
  /** API keys: never admitted beyond ingestion routes; whether the refusal is a 401 or a 403 is the gateway's choice. */
  | { kind: 'refused' };

function expectationFor(route: Route, caller: Caller): Expectation {
  let admitted: boolean;
  if (route.access === 'public') admitted = true;
  else if (caller === 'anonymous') return { kind: 'denied', status: 401, code: 'UNAUTHENTICATED' };
  else if (caller === 'API key') {
    // The test's key has the default scope only.
    if (route.apiKeyScope !== 'activities:write') return { kind: 'refused' };
    admitted = true;
  } else {
    if (!allows(route.access, [caller])) return { kind: 'denied', status: 403, code: 'FORBIDDEN' };
    admitted = true;
  }
  const known = admitted ? KNOWN[route.id] : undefined;
  return known ? { kind: 'known', status: known.status, code: known.code } : { kind: 'allowed' };
}

const describeExpectation = (e: Expectation) =>
  e.kind === 'denied' || e.kind === 'known'
    ? String(e.status)
    : e.kind === 'refused'
      ? '401/403'
      : 'allowed (not 401/403, < 500)';

const cases = routeList.flatMap((route) =>
  CALLERS.map((caller) => {
    const expected = expectationFor(route, caller);
    return {
      name: `${route.method} ${route.path} as ${caller} → ${describeExpectation(expected)}`,
      route,
      caller,
      expected,
    };
  }),
);

const fillPath = (path: string) => path.replace(/\{(\w+)\}/g, () => randomUUID());
const password = () => `pw-${randomBytes(12).toString('hex')}`;

describe('route policy through the gateway', () => {
  let stack: Stack;
  let adminToken: string;
  const tokens = new Map<Role, string>();
  let apiKey: string;

  async function login(email: string, pw: string): Promise<string> {
    const res = await stack.client.call('login', { body: { email, password: pw } });
    expect(res.status, `login ${email}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.accessToken;
  }

  /** Registers a user, gives it exactly `role` and signs it in (after the role change, which ends sessions). */
  async function userWithRole(role: Role, label: string): Promise<string> {
    const email = `${label}-${role.toLowerCase()}-${randomBytes(4).toString('hex')}@example.com`;
    const pw = password();
    const reg = await stack.client.call('register', { body: { email, password: pw } });
    expect(reg.status, `register ${email}: ${JSON.stringify(reg.body)}`).toBe(201);
    const set = await stack.client.call('setRoles', {
      params: { id: reg.body.user.id },
      body: { roles: [role] },
      token: adminToken,
    });
    expect(set.status, `setRoles ${email}: ${JSON.stringify(set.body)}`).toBe(200);
    expect(set.body.user.roles).toEqual([role]);
    return login(email, pw);
  }

  async function tokenFor(route: Route, caller: Caller): Promise<{ authorization?: string; 'x-api-key'?: string }> {
    if (caller === 'anonymous') return {};
    if (caller === 'API key') return { 'x-api-key': apiKey };
    const token = ENDS_SESSION.has(route.id) ? await userWithRole(caller, 'throwaway') : tokens.get(caller)!;
    return { authorization: `Bearer ${token}` };
  }

  beforeAll(async () => {
    stack = await startStack();
    adminToken = await login(stack.admin.email, stack.admin.password);
    for (const role of ROLES) tokens.set(role, await userWithRole(role, 'policy'));
    const key = await stack.client.call('createApiKey', { body: { name: 'route-policy test' }, token: adminToken });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    apiKey = key.body.key;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('covers every route of the table for every caller', () => {
    expect(routeList.length).toBeGreaterThan(0);
    expect(cases).toHaveLength(routeList.length * CALLERS.length);
    // A precise expectation for a route that left the table is stale.
    const ids = new Set(routeList.map((r) => r.id));
    expect(Object.keys(KNOWN).filter((id) => !ids.has(id))).toEqual([]);
    expect([...ENDS_SESSION].filter((id) => !ids.has(id))).toEqual([]);
  });

  it('gives each caller the role it is tested as', async () => {
    for (const role of ROLES) {
      const me = await stack.client.call('me', { token: tokens.get(role)! });
      expect(me.status).toBe(200);
      expect(me.body.user.roles).toEqual([role]);
    }
  });

  // `%s` of a [name, case] row: the full name (`$name` would be quoted and cut at 40 characters).
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, { route, caller, expected }) => {
    const known = KNOWN[route.id];
    const headers: Record<string, string> = { ...(await tokenFor(route, caller)) };
    let body: string | undefined;
    if (route.method !== 'GET') {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(known && 'body' in known ? known.body : {});
    }
    const res = await fetch(`${stack.gatewayUrl}${API_PREFIX}${fillPath(route.path)}`, {
      method: route.method,
      headers,
      body,
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as { error?: { code?: string } }) : undefined;
    const detail = `${route.method} ${route.path} as ${caller}: ${res.status} ${text.slice(0, 300)}`;

    switch (expected.kind) {
      case 'denied':
        expect(res.status, detail).toBe(expected.status);
        expect(json?.error?.code, detail).toBe(expected.code);
        break;
      case 'refused':
        expect([401, 403], detail).toContain(res.status);
        expect(json?.error?.code, detail).toBe(res.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
        break;
      case 'known':
        expect(res.status, detail).toBe(expected.status);
        if (expected.code) expect(json?.error?.code, detail).toBe(expected.code);
        break;
      case 'allowed':
        expect([401, 403], detail).not.toContain(res.status);
        expect(res.status, detail).toBeLessThan(500);
        break;
    }
  });
});
