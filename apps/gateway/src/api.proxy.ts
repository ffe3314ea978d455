import { createHash } from 'node:crypto';
import { API_PREFIX, compilePath, routeList, type RouteDef } from '@rewards/contracts';
import {
  AppError,
  authorize,
  INTERNAL_HEADER,
  toErrorResponse,
  type Logger,
  type TokenVerifier,
} from '@rewards/infrastructure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SlidingWindowLimiter } from './sliding-window.limiter.js';
import type { Instance, UpstreamRegistry } from './upstream.registry.js';

const compiled = routeList.map((route) => ({ route, match: compilePath(route.path) }));

type ContractRoute = (typeof routeList)[number];

/**
 * The contract route for a method and a raw (still percent-encoded) path below `/api/v1`, with its
 * decoded path parameters. Literal segments match only as written; a parameter that does not
 * decode, or decodes to a dot segment, matches nothing.
 */
export function matchPath(
  method: string,
  path: string,
): { route: ContractRoute; params: Record<string, string> } | undefined {
  for (const { route, match } of compiled) {
    if (route.method !== method) continue;
    let params: Record<string, string> | null;
    try {
      params = match(path);
    } catch {
      return undefined; // malformed percent-encoding
    }
    if (!params) continue;
    if (Object.values(params).some((v) => v === '.' || v === '..')) return undefined;
    return { route, params };
  }
  return undefined;
}

export function matchRoute(method: string, path: string): RouteDef | undefined {
  return matchPath(method, path)?.route;
}

/**
 * The raw path of a request, its part below `/api/v1`: only when it starts with `/api/v1/` as
 * written. The router matches `/api/v1/*` on the decoded path (so `/%61pi/v1/…` reaches the proxy);
 * what is matched against the contract and forwarded is the raw path, never a differently decoded one.
 */
export function apiPath(url: string): { raw: string; path: string | undefined } {
  const q = url.indexOf('?');
  const raw = q === -1 ? url : url.slice(0, q);
  return { raw, path: raw.startsWith(`${API_PREFIX}/`) ? raw.slice(API_PREFIX.length) : undefined };
}

/** Errors where the request never reached the instance, so another instance may take it. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EHOSTUNREACH']);
const PASS_REQUEST = ['content-type', 'idempotency-key', 'user-agent', 'accept'];
const PASS_RESPONSE = ['content-type', 'retry-after', 'cache-control'];

/**
 * The parsed body, serialized again for the service. JSON.parse takes any nesting, but
 * JSON.stringify recurses and overflows the stack a few thousand levels down: such a body is the
 * caller's fault, and no route accepts anything nested that deep.
 */
function serializeBody(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
      { path: '', code: 'too_deep', message: 'The body nests too deeply' },
    ]);
  }
}

export interface ApiProxyOptions {
  upstreams: UpstreamRegistry;
  verifier: TokenVerifier;
  internalSecret: string;
  timeoutMs: number;
  logger: Logger;
  /** Claim requests per user and event within a sliding minute; 0 or unset: no limit. */
  claimRateLimitPerMinute?: number;
}

/**
 * The public edge: finds the contract route, checks the caller against its role policy,
 * and forwards to an instance of the owning service. The caller's token travels on, and the
 * service verifies it again.
 */
export class ApiProxy {
  private apiKeyTokens = new Map<string, { token: string; until: number }>();
  private readonly claimLimiter: SlidingWindowLimiter | undefined;

  constructor(private readonly opts: ApiProxyOptions) {
    const limit = opts.claimRateLimitPerMinute ?? 0;
    this.claimLimiter = limit > 0 ? new SlidingWindowLimiter(limit, 60_000) : undefined;
  }

  async handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const { raw, path } = apiPath(req.url);
      const matched = path === undefined ? undefined : matchPath(req.method, path);
      if (!matched) throw new AppError('NOT_FOUND', `No route ${req.method} ${raw}`);
      const { route, params } = matched;
      const apiKey = req.headers['x-api-key'];
      let authorization = req.headers.authorization;
      if (typeof apiKey === 'string' && !authorization) {
        // Exchanged on every route, so a key used where keys are not allowed is refused as FORBIDDEN.
        authorization = `Bearer ${await this.exchangeApiKey(apiKey, String(req.id))}`;
      }
      const principal = await authorize(route, authorization, this.opts.verifier);
      if (route.id === 'createClaim' && principal) this.limitClaims(principal.subject, params.id!);
      await this.forward(route, req, reply, authorization);
    } catch (err) {
      if (err instanceof AppError && err.retryAfterSeconds !== undefined)
        reply.header('retry-after', String(err.retryAfterSeconds));
      const { status, body } = toErrorResponse(err, String(req.id), req.log as unknown as Logger);
      void reply.status(status).send(body);
    }
  }

  /** Refuses (429, nothing forwarded) a claim request past the user's limit for the event. */
  private limitClaims(subject: string, eventId: string): void {
    if (!this.claimLimiter) return;
    // One key however the id is spelled (case, percent-encoding): the service reads them all as one event.
    const waitMs = this.claimLimiter.take(`${subject} ${eventId.toLowerCase()}`);
    if (waitMs === 0) return;
    throw new AppError(
      'TOO_MANY_REQUESTS',
      'Too many claim requests for this event; retry after the time in Retry-After',
      undefined,
      Math.ceil(waitMs / 1000),
    );
  }

  private async forward(route: RouteDef, req: FastifyRequest, reply: FastifyReply, authorization: string | undefined) {
    // The services take the client address and the request id only from a request carrying the secret.
    const headers: Record<string, string> = {
      'x-request-id': String(req.id),
      'x-forwarded-for': req.clientIp || req.ip,
      [INTERNAL_HEADER]: this.opts.internalSecret,
    };
    for (const h of PASS_REQUEST) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    if (authorization) headers.authorization = authorization;
    const body = req.body === undefined || req.method === 'GET' ? undefined : serializeBody(req.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const candidates = this.opts.upstreams.candidates(route.service);
    let lastError: unknown;
    for (const instance of candidates) {
      try {
        const res = await this.send(instance, req.method, req.url, headers, body);
        reply.status(res.statusCode);
        for (const h of PASS_RESPONSE) {
          const v = res.headers[h];
          if (typeof v === 'string') reply.header(h, v);
        }
        return reply.send(Buffer.from(await res.body.arrayBuffer()));
      } catch (err) {
        lastError = err;
        const code = (err as { code?: string }).code ?? '';
        if (NOT_SENT.has(code)) {
          this.opts.upstreams.markDown(instance, code);
          continue;
        }
        break;
      }
    }
    this.opts.logger.warn(
      { err: { message: (lastError as Error)?.message }, service: route.service },
      'upstream failed',
    );
    throw new AppError('UNAVAILABLE', `The ${route.service} service is unavailable; retry shortly`);
  }

  private send(instance: Instance, method: string, path: string, headers: Record<string, string>, body?: string) {
    return instance.pool.request({
      path,
      method: method as 'GET',
      headers,
      body,
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
  }

  /** API keys are traded at auth for a short-lived token the event service verifies itself; cached per key. */
  private async exchangeApiKey(key: string, requestId: string): Promise<string> {
    const digest = createHash('sha256').update(key).digest('hex');
    const cached = this.apiKeyTokens.get(digest);
    if (cached && cached.until > Date.now()) return cached.token;
    const body = JSON.stringify({ key: key.slice(0, 200) });
    for (const instance of this.opts.upstreams.candidates('auth')) {
      let res: Awaited<ReturnType<ApiProxy['send']>>;
      try {
        res = await this.send(
          instance,
          'POST',
          '/internal/api-keys/exchange',
          {
            'content-type': 'application/json',
            [INTERNAL_HEADER]: this.opts.internalSecret,
            'x-request-id': requestId,
          },
          body,
        );
      } catch (err) {
        if (NOT_SENT.has((err as { code?: string }).code ?? '')) continue;
        break;
      }
      const json = (await res.body.json()) as { token?: string; expiresIn?: number };
      if (res.statusCode !== 200 || !json.token) throw new AppError('UNAUTHENTICATED', 'API key is invalid or revoked');
      if (this.apiKeyTokens.size > 10_000) this.apiKeyTokens.clear();
      this.apiKeyTokens.set(digest, { token: json.token, until: Date.now() + ((json.expiresIn ?? 60) - 30) * 1000 });
      return json.token;
    }
    throw new AppError('UNAVAILABLE', 'The auth service is unavailable; retry shortly');
  }
}
