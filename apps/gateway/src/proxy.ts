import { createHash } from 'node:crypto';
import { API_PREFIX, compilePath, routeList, type RouteDef } from '@rewards/contracts';
import { AppError, authorize, INTERNAL_HEADER, toErrorResponse, type Logger, type TokenVerifier } from '@rewards/infrastructure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Instance, Upstreams } from './upstreams.js';

const compiled = routeList.map((route) => ({ route, match: compilePath(route.path) }));

export function matchRoute(method: string, path: string): RouteDef | undefined {
  for (const { route, match } of compiled) if (route.method === method && match(path)) return route;
  return undefined;
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
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [{ path: '', code: 'too_deep', message: 'The body nests too deeply' }]);
  }
}

export interface ProxyOptions {
  upstreams: Upstreams;
  verifier: TokenVerifier;
  internalSecret: string;
  timeoutMs: number;
  logger: Logger;
}

/**
 * The public edge: finds the contract route, checks the caller against its role policy,
 * and forwards to an instance of the owning service. The caller's token travels on, and the
 * service verifies it again.
 */
export class Proxy {
  private apiKeyTokens = new Map<string, { token: string; until: number }>();

  constructor(private readonly opts: ProxyOptions) {}

  async handle(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const url = req.url;
      const q = url.indexOf('?');
      const path = (q === -1 ? url : url.slice(0, q)).slice(API_PREFIX.length) || '/';
      const route = matchRoute(req.method, path);
      if (!route) throw new AppError('NOT_FOUND', `No route ${req.method} ${API_PREFIX}${path}`);
      const apiKey = req.headers['x-api-key'];
      let authorization = req.headers.authorization;
      if (typeof apiKey === 'string' && !authorization) {
        // Exchanged on every route, so a key used where keys are not allowed is refused as FORBIDDEN.
        authorization = `Bearer ${await this.exchangeApiKey(apiKey, String(req.id))}`;
      }
      await authorize(route, authorization, this.opts.verifier);
      await this.forward(route, req, reply, authorization);
    } catch (err) {
      const { status, body } = toErrorResponse(err, String(req.id), req.log as unknown as Logger);
      void reply.status(status).send(body);
    }
  }

  private async forward(route: RouteDef, req: FastifyRequest, reply: FastifyReply, authorization: string | undefined) {
    const headers: Record<string, string> = { 'x-request-id': String(req.id), 'x-forwarded-for': req.ip };
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
    this.opts.logger.warn({ err: { message: (lastError as Error)?.message }, service: route.service }, 'upstream failed');
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
      let res;
      try {
        res = await this.send(instance, 'POST', '/internal/api-keys/exchange', {
          'content-type': 'application/json',
          [INTERNAL_HEADER]: this.opts.internalSecret,
          'x-request-id': requestId,
        }, body);
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
