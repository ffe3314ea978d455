import {
  ApiKeyCreated,
  ApiKeyList,
  ApiKeysQuery,
  CreateApiKeyBody,
  LoginBody,
  RefreshBody,
  RegisterBody,
  SetRolesBody,
  TokenResponse,
  UserList,
  UserResponse,
  UsersQuery,
} from './auth.js';
import { IdParams } from './common.js';
import { ClaimHeaders } from './events.js';
import {
  ActivitiesAccepted,
  ActivitiesBody,
  AuditList,
  AuditQuery,
  AuditVerification,
  ClaimList,
  ClaimResponse,
  ClaimsQuery,
  CreateEventBody,
  CreateRewardBody,
  EventList,
  EventResponse,
  EventsQuery,
  GrantList,
  Progress,
  RejectBody,
  RewardList,
  RewardResponse,
  UpdateEventBody,
} from './events.js';
import { PageQuery } from './common.js';
import type { RouteDef } from './route.js';

const ADMIN = ['ADMIN'] as const;

export const authRoutes = {
  register: {
    method: 'POST', path: '/auth/register', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Create a USER account (optionally with a friend\'s invite code)',
    body: RegisterBody, status: 201, response: UserResponse, errors: ['EMAIL_TAKEN', 'TOO_MANY_REQUESTS'],
  },
  login: {
    method: 'POST', path: '/auth/login', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Sign in; replaces any other session of the user',
    body: LoginBody, status: 200, response: TokenResponse, errors: ['INVALID_CREDENTIALS', 'TOO_MANY_ATTEMPTS'],
  },
  refresh: {
    method: 'POST', path: '/auth/refresh', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Rotate a refresh token; a reused token revokes the session',
    body: RefreshBody, status: 200, response: TokenResponse, errors: ['INVALID_REFRESH_TOKEN'],
  },
  logout: {
    method: 'POST', path: '/auth/logout', service: 'auth', access: 'authenticated', tag: 'auth',
    summary: 'End the current session', status: 204, errors: [],
  },
  me: {
    method: 'GET', path: '/auth/me', service: 'auth', access: 'authenticated', tag: 'auth',
    summary: 'The signed-in user', status: 200, response: UserResponse, errors: [],
  },
  listUsers: {
    method: 'GET', path: '/users', service: 'auth', access: ADMIN, tag: 'users',
    summary: 'List users', query: UsersQuery, status: 200, response: UserList, errors: [],
  },
  setRoles: {
    method: 'PUT', path: '/users/{id}/roles', service: 'auth', access: ADMIN, tag: 'users',
    summary: "Replace a user's roles; revokes the user's session",
    params: IdParams, body: SetRolesBody, status: 200, response: UserResponse, errors: ['NOT_FOUND', 'INVALID_STATE'],
  },
  createApiKey: {
    method: 'POST', path: '/api-keys', service: 'auth', access: ADMIN, tag: 'api-keys',
    summary: 'Create an API key for game servers, with scopes and an optional expiry (the key is shown once)',
    body: CreateApiKeyBody, status: 201, response: ApiKeyCreated, errors: [],
  },
  listApiKeys: {
    method: 'GET', path: '/api-keys', service: 'auth', access: ADMIN, tag: 'api-keys',
    summary: 'API keys, newest first (never the key itself)', query: ApiKeysQuery, status: 200, response: ApiKeyList, errors: [],
  },
  revokeApiKey: {
    method: 'DELETE', path: '/api-keys/{id}', service: 'auth', access: ADMIN, tag: 'api-keys',
    summary: 'Revoke an API key; it is refused everywhere within a second', params: IdParams, status: 204, errors: ['NOT_FOUND'],
  },
} as const satisfies Record<string, RouteDef>;

const STAFF = ['OPERATOR', 'ADMIN'] as const;
const AUDITORS = ['AUDITOR', 'ADMIN'] as const;

export const eventRoutes = {
  ingestActivities: {
    method: 'POST', path: '/activities', service: 'event', access: ADMIN, apiKeyScope: 'activities:write', tag: 'activities',
    summary: 'Record activities (facts conditions are checked against); idempotent on the sender\'s id',
    body: ActivitiesBody, status: 202, response: ActivitiesAccepted, errors: [],
  },
  createEvent: {
    method: 'POST', path: '/events', service: 'event', access: STAFF, tag: 'events',
    summary: 'Create an event', body: CreateEventBody, status: 201, response: EventResponse, errors: [],
  },
  listEvents: {
    method: 'GET', path: '/events', service: 'event', access: 'authenticated', tag: 'events',
    summary: 'List events (players never see drafts)', query: EventsQuery, status: 200, response: EventList, errors: [],
  },
  getEvent: {
    method: 'GET', path: '/events/{id}', service: 'event', access: 'authenticated', tag: 'events',
    summary: 'An event with its rewards', params: IdParams, status: 200, response: EventResponse, errors: ['NOT_FOUND'],
  },
  updateEvent: {
    method: 'PATCH', path: '/events/{id}', service: 'event', access: STAFF, tag: 'events',
    summary: 'Change an event; condition, repeat and timezone are frozen once a claim exists',
    params: IdParams, body: UpdateEventBody, status: 200, response: EventResponse, errors: ['NOT_FOUND', 'EVENT_LOCKED', 'INVALID_STATE'],
  },
  createReward: {
    method: 'POST', path: '/events/{id}/rewards', service: 'event', access: STAFF, tag: 'events',
    summary: 'Attach a reward, optionally with limited stock',
    params: IdParams, body: CreateRewardBody, status: 201, response: RewardResponse, errors: ['NOT_FOUND', 'INVALID_STATE'],
  },
  listRewards: {
    method: 'GET', path: '/events/{id}/rewards', service: 'event', access: 'authenticated', tag: 'events',
    summary: "An event's rewards with remaining stock", params: IdParams, status: 200, response: RewardList, errors: ['NOT_FOUND'],
  },
  progress: {
    method: 'GET', path: '/events/{id}/progress', service: 'event', access: 'authenticated', tag: 'events',
    summary: "The caller's progress towards the event's condition", params: IdParams, status: 200, response: Progress, errors: ['NOT_FOUND'],
  },
  createClaim: {
    method: 'POST', path: '/events/{id}/claims', service: 'event', access: 'authenticated', tag: 'claims',
    summary: 'Claim the rewards; every attempt is recorded with its outcome',
    params: IdParams, status: 201, response: ClaimResponse, errors: ['NOT_FOUND', 'ALREADY_CLAIMED', 'IDEMPOTENCY_CONFLICT', 'TOO_MANY_REQUESTS'],
    headers: ClaimHeaders,
  },
  listClaims: {
    method: 'GET', path: '/claims', service: 'event', access: 'authenticated', tag: 'claims',
    summary: 'Claim history (players see their own)', query: ClaimsQuery, status: 200, response: ClaimList, errors: [],
  },
  getClaim: {
    method: 'GET', path: '/claims/{id}', service: 'event', access: 'authenticated', tag: 'claims',
    summary: 'One claim', params: IdParams, status: 200, response: ClaimResponse, errors: ['NOT_FOUND'],
  },
  approveClaim: {
    method: 'POST', path: '/claims/{id}/approve', service: 'event', access: STAFF, tag: 'claims',
    summary: 'Approve a pending claim and grant its rewards', params: IdParams, status: 200, response: ClaimResponse, errors: ['NOT_FOUND', 'INVALID_STATE'],
  },
  rejectClaim: {
    method: 'POST', path: '/claims/{id}/reject', service: 'event', access: STAFF, tag: 'claims',
    summary: 'Reject a pending claim and release its stock',
    params: IdParams, body: RejectBody, status: 200, response: ClaimResponse, errors: ['NOT_FOUND', 'INVALID_STATE'],
  },
  myRewards: {
    method: 'GET', path: '/me/rewards', service: 'event', access: 'authenticated', tag: 'claims',
    summary: "The caller's granted rewards", query: PageQuery.strict(), status: 200, response: GrantList, errors: [],
  },
  auditLog: {
    method: 'GET', path: '/audit-log', service: 'event', access: AUDITORS, tag: 'audit',
    summary: 'Operator and admin actions, newest first', query: AuditQuery, status: 200, response: AuditList, errors: [],
  },
  verifyAuditLog: {
    method: 'GET', path: '/audit-log/verify', service: 'event', access: AUDITORS, tag: 'audit',
    summary: 'Recompute the hash chain of the audit log', status: 200, response: AuditVerification, errors: [],
  },
} as const satisfies Record<string, RouteDef>;

export const routes = { ...authRoutes, ...eventRoutes } as const;

export type Routes = typeof routes;
export type RouteId = keyof Routes;
export const routeList: ReadonlyArray<RouteDef & { id: string }> = Object.entries(routes).map(
  ([id, r]) => ({ id, ...(r as RouteDef) }),
);
