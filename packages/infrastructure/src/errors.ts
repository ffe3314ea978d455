import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import { ERROR_STATUS, type ErrorBody, type ErrorCode } from '@rewards/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { isDatabaseUnavailable, isDataException } from './pg-errors.js';

/** An expected failure with a stable code; the filter renders it in the error shape. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Seconds a refused caller should wait (429): sent as `Retry-After`. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

const STATUS_CODE: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_ATTEMPTS',
  503: 'UNAVAILABLE',
};

export function zodIssues(error: ZodError) {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), code: i.code, message: i.message }));
}

/** Maps anything thrown to `{status, body}`; unknown errors become a generic 500 and are logged with their stack. */
type LogSink = Pick<Logger, 'warn' | 'error'>;

export function toErrorResponse(
  err: unknown,
  requestId: string,
  logger?: LogSink,
): { status: number; body: ErrorBody } {
  const body = (code: ErrorCode, message: string, details?: unknown): ErrorBody => ({
    error: details === undefined ? { code, message } : { code, message, details },
    requestId,
  });
  if (err instanceof AppError) return { status: err.status, body: body(err.code, err.message, err.details) };
  if (err instanceof ZodError)
    return { status: 400, body: body('VALIDATION_FAILED', 'Request is invalid', zodIssues(err)) };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = STATUS_CODE[status];
    if (code) return { status, body: body(code, status === 404 ? 'Not found' : err.message) };
    // Any other client error is still the client's: never a 500.
    if (status >= 400 && status < 500) return { status: 400, body: body('VALIDATION_FAILED', err.message) };
  }
  // Errors raised by Fastify itself (body parsing, limits) carry a statusCode and an FST_ code.
  const fst = err as { statusCode?: number; code?: string; message?: string };
  if (typeof fst?.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
    if (fst.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return { status: 413, body: body('PAYLOAD_TOO_LARGE', 'Body exceeds 1 MB') };
    if (fst.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return { status: 415, body: body('UNSUPPORTED_MEDIA_TYPE', 'Send application/json') };
    const code = STATUS_CODE[fst.statusCode] ?? 'VALIDATION_FAILED';
    const message =
      fst.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      fst.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      err instanceof SyntaxError
        ? 'Body is not valid JSON'
        : 'Request is invalid';
    return { status: STATUS_CODE[fst.statusCode] ? fst.statusCode : 400, body: body(code, message) };
  }
  if (isDataException(err)) {
    // The database refused a value that passed validation (a NUL character, a number out of range):
    // still the caller's input, never a server fault.
    return { status: 400, body: body('VALIDATION_FAILED', 'A value in the request cannot be stored') };
  }
  if (isDatabaseUnavailable(err)) {
    logger?.warn({ err }, 'database unavailable');
    return { status: 503, body: body('UNAVAILABLE', 'The database is unavailable; retry shortly') };
  }
  logger?.error({ err }, 'unhandled error');
  return { status: 500, body: body('INTERNAL', 'Internal error') };
}

@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}
  catch(err: unknown, host: ArgumentsHost) {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const { status, body } = toErrorResponse(err, String(req.id), (req.log as LogSink | undefined) ?? this.logger);
    if (err instanceof AppError && err.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(err.retryAfterSeconds));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
