import type { z } from 'zod';
import type { ApiKeyScope } from './auth.js';
import type { Role } from './common.js';
import type { ErrorCode } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ServiceName = 'auth' | 'event';

/**
 * Who may call a route: anyone, any signed-in user, or signed-in users holding one of the roles.
 * `apiKeyScope` additionally admits machine clients presenting an `X-Api-Key` with that scope.
 */
export type Access = 'public' | 'authenticated' | readonly Role[];

export interface RouteDef {
  readonly method: HttpMethod;
  /** Path below `/api/v1`, OpenAPI style (`/events/{id}`). */
  readonly path: string;
  readonly service: ServiceName;
  readonly access: Access;
  readonly apiKeyScope?: ApiKeyScope;
  readonly summary: string;
  readonly tag: string;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** Request headers the route reads, named as documented (`Idempotency-Key`), each described with `.meta`. */
  readonly headers?: z.ZodObject;
  readonly status: number;
  readonly response?: z.ZodType;
  /**
   * Error codes particular to this route. Those every route of its kind can answer are implied:
   * VALIDATION_FAILED and UNAVAILABLE always, UNAUTHENTICATED and FORBIDDEN unless public,
   * PAYLOAD_TOO_LARGE and UNSUPPORTED_MEDIA_TYPE with a body.
   */
  readonly errors: readonly ErrorCode[];
}

export const API_PREFIX = '/api/v1';

export function allows(access: Access, roles: readonly string[] | undefined): boolean {
  if (access === 'public') return true;
  if (!roles) return false;
  if (access === 'authenticated') return true;
  return access.some((r) => roles.includes(r));
}

/** `/events/{id}/claims` → matcher for concrete paths, returning the path params. */
export function compilePath(path: string): (concrete: string) => Record<string, string> | null {
  const names: string[] = [];
  const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const re = new RegExp(`^${pattern}/?$`);
  return (concrete) => {
    const m = re.exec(concrete);
    if (!m) return null;
    const out: Record<string, string> = {};
    names.forEach((n, i) => {
      out[n] = decodeURIComponent(m[i + 1]!);
    });
    return out;
  };
}

/** Nest/Fastify path syntax for a contract path. */
export const toRouterPath = (path: string) => `${API_PREFIX}${path}`.replace(/\{(\w+)\}/g, ':$1');
