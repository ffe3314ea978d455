import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorFilter, toErrorResponse } from './errors.js';
import { PinoNestLogger } from './logger.js';

export const BODY_LIMIT = 1_048_576;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface ServiceAppOptions {
  service: string;
  logger: Logger;
  /** Trust X-Forwarded-For from these proxies (the gateway). */
  trustProxy?: boolean | string | string[];
}

export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
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
 * and unknown routes), and request metrics.
 */
export async function createServiceApp(
  module: Type<unknown> | DynamicModule,
  opts: ServiceAppOptions,
  metrics: Metrics,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    loggerInstance: opts.logger,
    disableRequestLogging: true,
    bodyLimit: BODY_LIMIT,
    trustProxy: opts.trustProxy ?? false,
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
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
  fastify.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  fastify.addHook('onResponse', async (req, reply) => {
    const labels = { method: req.method, route: routeLabel(req), status: String(reply.statusCode) };
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
    metrics.requests.inc(labels);
    const probe = /^\/(internal\/revocations|healthz|readyz|metrics)/.test(req.url);
    // Probes answer 503 while a dependency starts or is down: worth a warning, not an error per probe.
    const level = reply.statusCode >= 500 ? (probe ? 'warn' : 'error') : probe && reply.statusCode < 400 ? 'debug' : 'info';
    req.log[level](
      { method: req.method, url: req.routeOptions.url ?? 'unmatched', status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
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
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const statusCode = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const requestId = randomUUID();
  const { status, body } = toErrorResponse({ statusCode, code: err.code }, requestId);
  logger.debug({ reqId: requestId, err: { code: err.code, message: err.message } }, 'client error');
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

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
