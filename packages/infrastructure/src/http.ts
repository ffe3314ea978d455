import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorFilter, toErrorResponse } from './errors.js';
import { INTERNAL_HEADER, internalSecretCheck } from './internal.js';
import { PinoNestLogger } from './logger.js';
import { keepWebAssemblyOnBaselineCompiler } from './runtime.js';

export const BODY_LIMIT = 1_048_576;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  /**
   * The public edge only (the gateway): the proxies in front of it that may name the client in
   * X-Forwarded-For, as a hop count or a list of addresses/CIDRs (proxy-addr semantics). The client
   * address is then the right-most untrusted entry. Unset or 0: the connection's peer. The edge's
   * request ids are always its own; a client's `x-request-id` is only logged, as `clientRequestId`.
   */
  trustProxy?: number | readonly string[];
  /**
   * Internal services: the shared secret the gateway sends (`x-internal-secret`). Only a request
   * carrying it has its `x-forwarded-for` (the client address the gateway resolved) and
   * `x-request-id` honoured; any other caller gets its socket peer address and a fresh id.
   */
  internalSecret?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The client's address: see {@link ServiceAppOptions}. */
    clientIp: string;
  }
}

/** Set on the raw request by `genReqId`: whether it carries the valid internal secret. */
const FROM_GATEWAY = Symbol('fromGateway');
type RawRequest = IncomingMessage & { [FROM_GATEWAY]?: boolean };

/**
 * Fastify's own `trustProxy`. A plain number is not passed on: Fastify 5.12 fails closed on a hop
 * count (it trusts nothing), so the hop count is given as proxy-addr's `(addr, i) => i < hops`.
 */
function fastifyTrustProxy(tp: ServiceAppOptions['trustProxy']) {
  if (tp === undefined) return false;
  if (typeof tp === 'number') {
    if (!Number.isInteger(tp) || tp < 0) throw new Error(`trustProxy must be a hop count >= 0, not ${tp}`);
    return tp === 0 ? false : (_addr: string, hop: number) => hop < tp;
  }
  return tp.length === 0 ? false : [...tp];
}

function single(header: string | string[] | undefined): string | undefined {
  return typeof header === 'string' ? header : undefined;
}

/** The Nest token of a service's `Metrics`. */
export const METRICS = Symbol('METRICS');

export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // The event-loop lag histogram samples every 100 ms, not prom-client's default 10: a timer firing
  // 100 times a second cost each idle service about 8 ms of CPU per second, and a stall long enough
  // to matter still spans several samples.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  return { registry, duration, requests };
}
export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A Nest app on Fastify with what every service shares: JSON logs with the request id,
 * the 1 MB body limit, one error shape for everything (including Fastify's own parse errors
 * and unknown routes), and request metrics. Its HTTP clients' WebAssembly stays on V8's baseline
 * compiler (set here, before the app's jobs make any connection).
 */
export async function createServiceApp(
  module: Type<unknown> | DynamicModule,
  opts: ServiceAppOptions,
  metrics: Metrics,
): Promise<NestFastifyApplication> {
  keepWebAssemblyOnBaselineCompiler();
  if (opts.internalSecret !== undefined && opts.trustProxy !== undefined) {
    throw new Error(
      'createServiceApp: trustProxy is for the public edge, internalSecret for internal services; not both',
    );
  }
  const fromGateway = opts.internalSecret === undefined ? () => false : internalSecretCheck(opts.internalSecret);
  const isFromGateway = (raw: RawRequest) => (raw[FROM_GATEWAY] ??= fromGateway(raw.headers[INTERNAL_HEADER]));
  const adapter = new FastifyAdapter({
    loggerInstance: opts.logger,
    // Our own "request completed" line (below) replaces Fastify's request logging.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: fastifyTrustProxy(opts.trustProxy),
    requestIdHeader: false,
    // Only the gateway's id is taken over; the gateway itself always makes its own.
    genReqId: (req: RawRequest) => {
      const given = single(req.headers['x-request-id']);
      return given !== undefined && REQUEST_ID.test(given) && isFromGateway(req) ? given : randomUUID();
    },
    // The router rejects a malformed URL (bad percent-encoding) or an over-long path parameter
    // before any route, hook or error handler runs; answer those in the error shape too.
    frameworkErrors: (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toErrorResponse(err, String(req.id), req.log as unknown as Logger);
      void reply.status(status).header('x-request-id', req.id).send(body);
    },
    // Requests Node's HTTP parser refuses (malformed, headers over 16 KB) never become requests at all.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Duplex) => writeClientError(err, socket, opts.logger),
  });
  const fastify = adapter.getInstance();
  fastify.decorateRequest('clientIp', '');
  fastify.addHook('onRequest', async (req, reply) => {
    // Behind the gateway, the address it resolved; otherwise the peer (or, at the edge, what Fastify's trustProxy resolved).
    const forwarded = isFromGateway(req.raw) ? single(req.headers['x-forwarded-for'])?.trim() : undefined;
    req.clientIp = forwarded && isIP(forwarded) ? forwarded : req.ip;
    reply.header('x-request-id', req.id);
  });
  fastify.addHook('onResponse', async (req, reply) => {
    const labels = { method: req.method, route: routeLabel(req), status: String(reply.statusCode) };
    if (!LONG_POLLS.has(labels.route)) metrics.duration.observe(labels, reply.elapsedTime / 1000);
    metrics.requests.inc(labels);
    const probe = /^\/(internal\/revocations|healthz|readyz|metrics)/.test(req.url);
    // Probes answer 503 while a dependency starts or is down: the outage itself is logged where it is
    // seen (upstream marked down, database unavailable), not once per probe.
    const level =
      reply.statusCode >= 500 ? (probe ? 'info' : 'error') : probe && reply.statusCode < 400 ? 'debug' : 'info';
    // A client's own request id is kept beside ours (never in its place), to correlate with its logs.
    const given = single(req.headers['x-request-id']);
    const clientRequestId = given !== undefined && given !== req.id ? { clientRequestId: given.slice(0, 200) } : {};
    req.log[level](
      {
        method: req.method,
        url: req.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ip: req.clientIp || req.ip,
        ...clientRequestId,
      },
      'request completed',
    );
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: new PinoNestLogger(opts.logger),
    bufferLogs: false,
  });
  app.useGlobalFilters(new ErrorFilter(opts.logger));
  return app;
}

/**
 * Answers a request Node's HTTP parser refused, in the error shape, and closes the connection
 * (what follows on it cannot be parsed).
 */
function writeClientError(err: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  // The parser stays attached and refuses every further chunk again: the first refusal ended the socket.
  if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  const statusCode = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const requestId = randomUUID();
  const { status, body } = toErrorResponse({ statusCode, code: err.code }, requestId);
  logger.debug({ reqId: requestId, err: { code: err.code, message: err.message } }, 'client error');
  const text = JSON.stringify(body);
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
  );
  lingerThenClose(socket);
}

/** How long, and for how many bytes, a refused request's remaining input is read and dropped. */
const LINGER_MS = 2000;
const LINGER_BYTES = 2 * 1_048_576;

/**
 * Reads and drops what the client is still sending after its answer, then closes. Closing with
 * unread input makes the kernel reset the connection, and a client still writing its body would
 * lose the answer to the reset (nginx's lingering close). Bounded in time and bytes.
 */
function lingerThenClose(socket: Duplex): void {
  let read = 0;
  const close = () => socket.destroy();
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  socket.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > LINGER_BYTES) close();
  });
  socket.on('error', close);
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}

/** Routes held open on purpose (long polls): counted, but their duration says nothing of latency. */
const LONG_POLLS = new Set(['/internal/revocations']);

function routeLabel(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}

/**
 * Listens, and on SIGINT/SIGTERM stops taking requests, then runs `cleanup` (close the database)
 * once, however many signals arrive, before exiting.
 */
export async function listen(
  app: INestApplication,
  port: number,
  host: string,
  logger: Logger,
  cleanup: () => Promise<void> | void = () => undefined,
): Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    try {
      await app.close();
      await cleanup();
    } catch (err) {
      logger.error({ err }, 'error while shutting down');
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen(port, host);
  logger.info({ port, host }, 'listening');
}
