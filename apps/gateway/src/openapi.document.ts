import { API_PREFIX, ERROR_STATUS, ErrorBody, Jwks, type ErrorCode, type RouteDef } from '@rewards/contracts';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';

type Route = RouteDef & { id: string };

/** What each tag groups, for the reader of the docs. */
const TAGS = [
  { name: 'auth', description: 'Accounts and sessions: register, sign in (access + refresh token), rotate, sign out.' },
  { name: 'users', description: 'Administer accounts and roles (ADMIN). A role change ends the user’s session.' },
  {
    name: 'api-keys',
    description: 'Keys for game servers (ADMIN): scoped, optionally expiring, revocable within a second.',
  },
  {
    name: 'activities',
    description: 'Facts conditions are checked against (LOGIN, LEVEL_UP, …), posted by game servers.',
  },
  { name: 'events', description: 'Time-boxed events with a condition and rewards; progress of the caller.' },
  { name: 'claims', description: 'Claim an event’s rewards, decide pending claims, read claims and granted rewards.' },
  {
    name: 'grants',
    description: 'The feed of granted rewards game servers drain: commit order, each grant exactly once.',
  },
  { name: 'audit', description: 'The hash-chained log of every operator and admin action (AUDITOR, ADMIN).' },
  {
    name: 'webhooks',
    description:
      'Endpoints (ADMIN) that decisions are pushed to, signed per Standard Webhooks 1.0 and retried for about a day.',
  },
  { name: 'keys', description: 'The public keys access tokens are signed with.' },
];

/** What a status means, with the codes every route of a kind can answer. */
const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid input; `details` names each failing field',
  401: 'Missing, invalid, expired or revoked credentials',
  403: 'The caller is known but not allowed (role, own claim, or an API key without the scope)',
  404: 'No such resource (or not visible to the caller)',
  409: 'Conflicts with the current state',
  413: 'The body is larger than 1 MB',
  415: 'The body is not JSON',
  429: 'Too many attempts or requests; `Retry-After` says when to try again',
  503: 'A downstream service or the database is unavailable; retry shortly',
};

const EXAMPLE_MESSAGE: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'Request is invalid',
  UNAUTHENTICATED: 'Sign in first: send Authorization: Bearer <accessToken>',
  INVALID_CREDENTIALS: 'Email or password is wrong',
  INVALID_REFRESH_TOKEN: 'Refresh token is invalid, expired or already used',
  FORBIDDEN: 'Requires one of the roles: OPERATOR, ADMIN',
  NOT_FOUND: 'Event not found',
  ALREADY_CLAIMED: 'A pending or approved claim exists for this event and period',
  EMAIL_TAKEN: 'An account with this email exists',
  EVENT_LOCKED: 'Claims exist: condition can no longer change',
  INVALID_STATE: 'The claim is APPROVED, not PENDING',
  IDEMPOTENCY_CONFLICT: 'This Idempotency-Key was used for a different request',
  PAYLOAD_TOO_LARGE: 'Body exceeds 1 MB',
  UNSUPPORTED_MEDIA_TYPE: 'Send application/json',
  TOO_MANY_ATTEMPTS: 'Too many failed sign-ins; try again later',
  TOO_MANY_REQUESTS: 'Too many claim requests for this event; retry after the time in Retry-After',
  UNAVAILABLE: 'The event service is unavailable; retry shortly',
};

/** Request bodies that succeed as they are (with the ids and tokens of a real run). */
const BODY_EXAMPLES: Record<string, unknown> = {
  register: { email: 'player@example.com', password: 'correct horse battery', displayName: 'Player One' },
  login: { email: 'admin@example.com', password: '<the password pnpm start printed>' },
  refresh: { refreshToken: '<the refreshToken from /auth/login>' },
  setRoles: { roles: ['USER', 'OPERATOR'] },
  createApiKey: { name: 'quest-server', scopes: ['activities:write'] },
  ingestActivities: {
    activities: [
      {
        id: 'lvl-8f2c-1',
        userId: '3c2d6a0e-5b1f-4f8e-9a7d-2e6b8c4f1a90',
        type: 'LEVEL_UP',
        occurredAt: '2026-12-01T10:15:00+09:00',
        value: 30,
      },
      {
        id: 'quest-8f2c-7',
        userId: '3c2d6a0e-5b1f-4f8e-9a7d-2e6b8c4f1a90',
        type: 'QUEST_CLEARED',
        occurredAt: '2026-12-01T10:20:00+09:00',
      },
    ],
  },
  createEvent: {
    title: 'Winter login streak',
    description: 'Log in three days in a row during December',
    startsAt: '2026-12-01T00:00:00+09:00',
    endsAt: '2026-12-31T23:59:59+09:00',
    timezone: 'Asia/Seoul',
    condition: { type: 'LOGIN_STREAK', days: 3 },
    approval: 'AUTO',
    repeat: 'NONE',
    status: 'ACTIVE',
  },
  updateEvent: { title: 'Winter login streak (extended)', endsAt: '2027-01-07T23:59:59+09:00' },
  createReward: { type: 'ITEM', name: 'Frost Sword', itemCode: 'SWORD_FROST', quantity: 1, stock: 1000 },
  rejectClaim: { reason: 'Account under review for multi-accounting' },
};

/** Every error code a route can answer: its own, and those implied by its kind (see RouteDef.errors). */
export function errorCodesOf(route: RouteDef): ErrorCode[] {
  const codes = new Set<ErrorCode>(['VALIDATION_FAILED', 'UNAVAILABLE', ...route.errors]);
  if (route.access !== 'public') {
    codes.add('UNAUTHENTICATED');
    // Any signed-in route refuses an API key without the scope, and role routes refuse other roles.
    codes.add('FORBIDDEN');
  }
  if (route.body) {
    codes.add('PAYLOAD_TOO_LARGE');
    codes.add('UNSUPPORTED_MEDIA_TYPE');
  }
  return [...codes];
}

function errorResponses(route: RouteDef): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: ZodOpenApiResponsesObject = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    // The error shape, with `code` narrowed to what this operation answers with this status.
    const body = ErrorBody.extend({
      error: ErrorBody.shape.error.extend({ code: z.enum(codes as [ErrorCode, ...ErrorCode[]]) }),
    });
    out[`${status}` as `4${string}`] = {
      description: `${STATUS_TEXT[status] ?? 'Error'}: ${codes.join(', ')}`,
      ...(status === 429
        ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer', minimum: 1 } } } }
        : {}),
      content: {
        'application/json': {
          schema: body,
          examples: Object.fromEntries(
            codes.map((code) => [
              code,
              {
                value: {
                  error: { code, message: EXAMPLE_MESSAGE[code] ?? code },
                  requestId: '1f0e3f7a-8a43-4d7e-9a57-5d1a0c2b7e11',
                },
              },
            ]),
          ),
        },
      },
    };
  }
  return out;
}

function operation(route: Route): ZodOpenApiOperationObject {
  const access = Array.isArray(route.access)
    ? `Roles: ${route.access.join(', ')}${route.apiKeyScope ? `, or an API key with scope ${route.apiKeyScope}` : ''}.`
    : route.access === 'public'
      ? 'Anyone.'
      : 'Any signed-in user.';
  const security: Record<string, string[]>[] = [];
  if (route.access !== 'public') security.push({ bearer: [] });
  if (route.apiKeyScope) security.push({ apiKey: [] });
  return {
    operationId: route.id,
    summary: route.summary,
    description: access,
    tags: [route.tag],
    security,
    requestParams: {
      ...(route.params ? { path: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
      ...(route.headers ? { header: route.headers } : {}),
    },
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: route.body,
                ...(BODY_EXAMPLES[route.id] ? { example: BODY_EXAMPLES[route.id] } : {}),
              },
            },
          },
        }
      : {}),
    responses: {
      [`${route.status}` as `2${string}`]: route.response
        ? { description: 'Success', content: { 'application/json': { schema: route.response } } }
        : { description: 'Success, no content' },
      ...errorResponses(route),
      default: {
        description: 'An unexpected server error (INTERNAL); never for bad input',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
  };
}

/**
 * The public API as one OpenAPI 3.1 document, generated from the route table by zod-openapi:
 * schemas with an id (`User`, `Event`, `Condition`, …) become components, referenced everywhere.
 */
export function buildOpenApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const path = `${API_PREFIX}${route.path}`;
    paths[path] ??= {};
    (paths[path] as Record<string, ZodOpenApiOperationObject>)[route.method.toLowerCase()] = operation(route);
  }
  paths['/.well-known/jwks.json'] = {
    get: {
      operationId: 'jwks',
      summary: 'The public keys (JWKS) access tokens are signed with',
      description: 'Anyone. Cached for 5 minutes.',
      tags: ['keys'],
      security: [],
      responses: {
        '200': { description: 'The key set', content: { 'application/json': { schema: Jwks } } },
        ...errorResponses({ ...routes[0]!, access: 'public', errors: [], body: undefined }),
      },
    },
  };
  const document = createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Event & Reward Platform API',
        version,
        description: [
          'Run time-boxed events with rewards; players claim them, game servers post activities and receive what was granted.',
          '',
          '**Start here:** `POST /api/v1/auth/login` with the administrator’s email and password (printed by `pnpm start`),',
          'then send `Authorization: Bearer <accessToken>` (in this page: **Authorize** → `bearer`). Game servers use an',
          'API key from `POST /api/v1/api-keys` as `X-Api-Key`. Errors always have the shape of `Error`.',
        ].join('\n'),
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Platform team', url: 'https://github.com/' },
      },
      servers: [{ url: '/', description: 'This gateway' }],
      tags: TAGS,
      paths,
      components: {
        schemas: { Error: ErrorBody },
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The accessToken from /auth/login',
          },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'A key from POST /api-keys' },
        },
      },
    },
    {
      reused: 'inline',
      override: ({ jsonSchema }) => {
        // JavaScript's safe-integer bounds say nothing to a reader; a limit the schema sets stays.
        const s = jsonSchema as { minimum?: number; maximum?: number };
        if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
        if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
      },
    },
  );
  return document as unknown as Record<string, unknown>;
}
