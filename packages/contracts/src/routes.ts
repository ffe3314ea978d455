import {
  ApiKeyCreated,
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
import type { RouteDef } from './route.js';

const ADMIN = ['ADMIN'] as const;

export const authRoutes = {
  register: {
    method: 'POST', path: '/auth/register', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Create a USER account (optionally with a friend\'s invite code)',
    body: RegisterBody, status: 201, response: UserResponse, errors: [409, 429],
  },
  login: {
    method: 'POST', path: '/auth/login', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Sign in; replaces any other session of the user',
    body: LoginBody, status: 200, response: TokenResponse, errors: [401, 429],
  },
  refresh: {
    method: 'POST', path: '/auth/refresh', service: 'auth', access: 'public', tag: 'auth',
    summary: 'Rotate a refresh token; a reused token revokes the session',
    body: RefreshBody, status: 200, response: TokenResponse, errors: [401],
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
    params: IdParams, body: SetRolesBody, status: 200, response: UserResponse, errors: [404],
  },
  createApiKey: {
    method: 'POST', path: '/api-keys', service: 'auth', access: ADMIN, tag: 'api-keys',
    summary: 'Create an API key for activity ingestion (the key is shown once)',
    body: CreateApiKeyBody, status: 201, response: ApiKeyCreated, errors: [],
  },
} as const satisfies Record<string, RouteDef>;

export const routes = { ...authRoutes } as const;

export type Routes = typeof routes;
export type RouteId = keyof Routes;
export const routeList: ReadonlyArray<RouteDef & { id: string }> = Object.entries(routes).map(
  ([id, r]) => ({ id, ...(r as RouteDef) }),
);
