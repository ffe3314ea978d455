import { createHash } from 'node:crypto';
import { API_PREFIX, compilePath, routeList, type RouteDef, type ServiceName } from '@rewards/contracts';
import {
  AppError,
  authorize,
  INTERNAL_HEADER,
  toErrorResponse,
  type Logger,
  type TokenVerifier,
} from '@rewards/infrastructure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { SlidingWindowLimiter } from './sliding-window.limiter.js';
import type { Instance, UpstreamRegistry } from './upstream.registry.js';

type ContractRoute = (typeof routeList)[number];

/** The contract routes by method, each method's in the table's order. */
const byMethod = new Map<string, { route: ContractRoute; match: ReturnType<typeof compilePath> }[]>();
for (const route of routeList) {
  const list = byMethod.get(route.method) ?? [];
  list.push({ route, match: compilePath(route.path) });
  byMethod.set(route.method, list);
}

/**
 * The contract route for a method and a raw (still percent-encoded) path below `/api/v1`, with its
 * decoded path parameters. Literal segments match only as written; a parameter that does not
 * decode, or decodes to a dot segment, matches nothing.
 */
export function matchPath(
  method: string,
  path: string,
): { route: ContractRoute; params: Record<string, string> } | undefined {
  for (const { route, match } of byMethod.get(method) ?? []) {
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
const PASS_RESPONSE = ['content-type', 'retry-after', 'cache-control', 'content-length'];
/**
 * The media types the proxy takes a body in: those the services parse (JSON, and the text and
 * form types Fastify and Nest parse by default). Anything else is 415 before the handler runs.
 */
const BODY_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded'];

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
 * `/api/v1/*` in a scope of its own. There a body stays the bytes the client sent: Fastify still
 * enforces the 1 MB limit (413) and the media type (415), and the service, which verifies every
 * request again, parses and validates it (malformed JSON or too deep a nesting is its 400).
 */
export function registerApiProxy(fastify: FastifyInstance, proxy: ApiProxy): void {
  void fastify.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(BODY_TYPES, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.all(
      `${API_PREFIX}/*`,
      { errorHandler: (err, req, reply) => proxy.answerRouteError(err, req, reply) },
      (req, reply) => {
        // Not returned: a streamed response is still being sent when this settles, and Fastify would end it.
        void proxy.handle(req, reply);
      },
    );
    done();
  });
}

/**
 * The public edge: finds the contract route, checks the caller against its role policy,
 * and forwards to an instance of the owning service. The caller's token travels on, and the
 * service verifies it again.
 */
export class ApiProxy {
  private apiKeyTokens = new Map<string, { token: string; until: number }>();
  private readonly claimLimiter: SlidingWindowLimiter | undefined;
  /**
   * Errors of upstream bodies being relayed, which Fastify hands to `answerRouteError` when nothing
   * was sent yet: the service whose body failed, or null where the body was ended because the
   * client left.
   */
  private readonly bodyErrors = new WeakMap<Error, ServiceName | null>();

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
      this.answerError(err, req, reply);
    }
  }

  /**
   * Errors Fastify raises on the proxy route. An upstream body that failed before its first byte
   * went out is a 503; anything else (the body limit, the media type) goes on to the app's one
   * error handler, as on every other route.
   */
  answerRouteError(err: Error, req: FastifyRequest, reply: FastifyReply): void {
    const service = this.bodyErrors.get(err);
    if (service === undefined) throw err;
    if (service === null) return; // the client left: nobody to answer
    const { message, code } = err as Error & { code?: string };
    req.log.warn({ err: { message, code }, service }, 'upstream failed');
    // The upstream's headers were set for its answer, not for this one.
    for (const h of PASS_RESPONSE) {
      reply.removeHeader(h);
      if (!reply.raw.headersSent) reply.raw.removeHeader(h);
    }
    this.answerError(new AppError('UNAVAILABLE', `The ${service} service is unavailable; retry shortly`), req, reply);
  }

  private answerError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
    if (err instanceof AppError && err.retryAfterSeconds !== undefined)
      reply.header('retry-after', String(err.retryAfterSeconds));
    const { status, body } = toErrorResponse(err, String(req.id), req.log as unknown as Logger);
    void reply.status(status).send(body);
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
    // The bytes as received (see registerApiProxy); a GET's body is never read.
    const body = req.method === 'GET' ? undefined : (req.body as Buffer | undefined);
    let lastError: unknown;
    for (const instance of this.opts.upstreams.candidates(route.service)) {
      let res: Dispatcher.ResponseData;
      try {
        res = await this.send(instance, req.method, req.url, headers, body);
      } catch (err) {
        lastError = err;
        const code = (err as { code?: string }).code ?? '';
        if (NOT_SENT.has(code)) {
          this.opts.upstreams.markDown(instance, code);
          continue;
        }
        break;
      }
      return this.relay(res, instance, req, reply);
    }
    this.opts.logger.warn(
      { err: { message: (lastError as Error)?.message }, service: route.service, reqId: req.id },
      'upstream failed',
    );
    throw new AppError('UNAVAILABLE', `The ${route.service} service is unavailable; retry shortly`);
  }

  /**
   * Streams the upstream's answer to the client as it arrives. Before its first byte is sent, a
   * failing upstream body is still a 503 (answerRouteError); after, the client's connection is cut, as
   * the status is out. A client that leaves mid-answer ends the upstream request. Either way
   * Fastify never sees the response finish, so it is reported to the request's hooks (the
   * request log, metrics) as an error of the response, with the status that went out.
   */
  private relay(res: Dispatcher.ResponseData, instance: Instance, req: FastifyRequest, reply: FastifyReply): void {
    const { body } = res;
    let upstreamError: Error | undefined;
    let clientLeft = false;
    body.on('error', (err: Error) => {
      // Fastify destroys (aborts) the body of a response whose client left: no fault of the upstream.
      if (clientLeft || (err as { code?: string }).code === 'UND_ERR_ABORTED') {
        this.bodyErrors.set(err, null);
        return;
      }
      upstreamError = err;
      this.bodyErrors.set(err, instance.service);
    });
    reply.status(res.statusCode);
    for (const h of PASS_RESPONSE) {
      const v = res.headers[h];
      if (typeof v === 'string') reply.header(h, v);
    }
    reply.send(body);
    const { raw } = reply;
    const onClose = () => {
      if (raw.writableFinished) return;
      clientLeft = !upstreamError;
      if (upstreamError) {
        const { message, code } = upstreamError as Error & { code?: string };
        req.log.warn(
          { upstream: instance.url, err: { message, code } },
          'upstream failed mid-response; the client connection was cut',
        );
      } else {
        req.log.info({ upstream: instance.url }, 'the client left before the response was complete');
      }
      // Fastify runs the onResponse hooks on the response's `finish` or `error`; a cut response has neither.
      if (raw.listenerCount('error') > 0) raw.emit('error', upstreamError ?? new Error('The client left'));
    };
    if (raw.destroyed) process.nextTick(onClose);
    else raw.once('close', onClose);
  }

  private send(
    instance: Instance,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: Buffer | string,
  ) {
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
