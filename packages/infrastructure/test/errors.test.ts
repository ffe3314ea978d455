import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { AppError, toErrorResponse } from '../src/errors.js';

const REQUEST_ID = 'req-1';

function logSink() {
  return { warn: vi.fn(), error: vi.fn() };
}

describe(AppError.name, () => {
  it('takes its status from the error code', () => {
    expect(new AppError('EMAIL_TAKEN', 'taken').status).toBe(409);
    expect(new AppError('TOO_MANY_ATTEMPTS', 'slow down').status).toBe(429);
    expect(new AppError('UNAVAILABLE', 'down').status).toBe(503);
  });
});

describe(toErrorResponse.name, () => {
  it('renders an AppError with its status, code, message and details', () => {
    const details = [{ path: 'inviteCode', code: 'unknown', message: 'No user has this invite code' }];

    const sut = toErrorResponse(new AppError('VALIDATION_FAILED', 'Request is invalid', details), REQUEST_ID);

    expect(sut).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'Request is invalid', details }, requestId: REQUEST_ID },
    });
  });

  it('omits details when an AppError has none', () => {
    const sut = toErrorResponse(new AppError('FORBIDDEN', 'Requires one of the roles: ADMIN'), REQUEST_ID);

    expect(sut).toEqual({
      status: 403,
      body: { error: { code: 'FORBIDDEN', message: 'Requires one of the roles: ADMIN' }, requestId: REQUEST_ID },
    });
    expect('details' in sut.body.error).toBe(false);
  });

  it.each([
    ['INVALID_CREDENTIALS', 401],
    ['INVALID_REFRESH_TOKEN', 401],
    ['NOT_FOUND', 404],
    ['INVALID_STATE', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNAVAILABLE', 503],
  ] as const)('maps AppError %s to %i', (code, status) => {
    const sut = toErrorResponse(new AppError(code, 'm'), REQUEST_ID);

    expect(sut.status).toBe(status);
    expect(sut.body.error.code).toBe(code);
  });

  it('renders a ZodError as 400 VALIDATION_FAILED naming the failing fields', () => {
    const parsed = z
      .object({ email: z.email(), limit: z.number().int().max(100), nested: z.object({ a: z.string() }) })
      .safeParse({
        email: 'nope',
        limit: 500,
        nested: { a: 1 },
      });

    const sut = toErrorResponse(parsed.error, REQUEST_ID);

    expect(sut.status).toBe(400);
    expect(sut.body.error.code).toBe('VALIDATION_FAILED');
    expect(sut.body.error.message).toBe('Request is invalid');
    expect(sut.body.error.details).toEqual([
      { path: 'email', code: 'invalid_format', message: 'Invalid email address' },
      { path: 'limit', code: 'too_big', message: 'Too big: expected number to be <=100' },
      { path: 'nested.a', code: 'invalid_type', message: 'Invalid input: expected string, received number' },
    ]);
  });

  it('renders a ZodError as 400 VALIDATION_FAILED with details', () => {
    const parsed = z.object({ roles: z.array(z.enum(['USER', 'ADMIN'])).min(1) }).safeParse({ roles: [] });

    const sut = toErrorResponse(parsed.error, REQUEST_ID);

    expect(sut).toEqual({
      status: 400,
      body: {
        error: {
          code: 'VALIDATION_FAILED',
          message: 'Request is invalid',
          details: [{ path: 'roles', code: 'too_small', message: 'Too small: expected array to have >=1 items' }],
        },
        requestId: REQUEST_ID,
      },
    });
  });

  it('maps Nest HTTP exceptions with a known status to their code', () => {
    expect(toErrorResponse(new NotFoundException('Cannot GET /nowhere'), REQUEST_ID)).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'Not found' }, requestId: REQUEST_ID },
    });
    expect(toErrorResponse(new BadRequestException('bad'), REQUEST_ID)).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'bad' }, requestId: REQUEST_ID },
    });
    expect(toErrorResponse(new HttpException('slow down', 429), REQUEST_ID).body.error.code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('maps a Fastify body-too-large error to 413 PAYLOAD_TOO_LARGE', () => {
    const err = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });

    expect(toErrorResponse(err, REQUEST_ID)).toEqual({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'Body exceeds 1 MB' }, requestId: REQUEST_ID },
    });
  });

  it('maps Fastify JSON parse errors to 400 with a fixed message', () => {
    const invalid = Object.assign(new SyntaxError('Unexpected token } in JSON at position 9'), {
      statusCode: 400,
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
    });
    const empty = Object.assign(new Error("Body cannot be empty when content-type is set to 'application/json'"), {
      statusCode: 400,
      code: 'FST_ERR_CTP_EMPTY_JSON_BODY',
    });

    expect(toErrorResponse(invalid, REQUEST_ID)).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'Body is not valid JSON' }, requestId: REQUEST_ID },
    });
    expect(toErrorResponse(empty, REQUEST_ID).body.error).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'Body is not valid JSON',
    });
  });

  it('maps an unsupported media type to 415', () => {
    const err = Object.assign(new Error('Unsupported Media Type: text/plain'), {
      statusCode: 415,
      code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    });

    expect(toErrorResponse(err, REQUEST_ID)).toEqual({
      status: 415,
      body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send application/json' }, requestId: REQUEST_ID },
    });
  });

  it('maps another 4xx error carrying a statusCode without echoing its message', () => {
    const mapped = Object.assign(new Error('internal detail'), { statusCode: 405, code: 'FST_ERR_SOMETHING' });
    const unmapped = Object.assign(new Error('internal detail'), { statusCode: 418, code: 'FST_ERR_TEAPOT' });

    expect(toErrorResponse(mapped, REQUEST_ID)).toEqual({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED', message: 'Request is invalid' }, requestId: REQUEST_ID },
    });
    expect(toErrorResponse(unmapped, REQUEST_ID)).toEqual({
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'Request is invalid' }, requestId: REQUEST_ID },
    });
  });

  it('renders an unknown error as a generic 500 without its message or stack, and logs it', () => {
    const log = logSink();
    const err = new TypeError("Cannot read properties of undefined (reading 'secret')");

    const sut = toErrorResponse(err, REQUEST_ID, log);

    expect(sut).toEqual({
      status: 500,
      body: { error: { code: 'INTERNAL', message: 'Internal error' }, requestId: REQUEST_ID },
    });
    const text = JSON.stringify(sut.body);
    expect(text).not.toContain('secret');
    expect(text).not.toContain('at ');
    expect(log.error).toHaveBeenCalledWith({ err }, 'unhandled error');
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('renders thrown non-errors as a generic 500', () => {
    expect(toErrorResponse('boom', REQUEST_ID).status).toBe(500);
    expect(toErrorResponse(undefined, REQUEST_ID).status).toBe(500);
    expect(toErrorResponse(null, REQUEST_ID).body.error).toEqual({ code: 'INTERNAL', message: 'Internal error' });
  });

  it('renders a 5xx statusCode error as 500, not as its own status', () => {
    const err = Object.assign(new Error('plugin crashed'), { statusCode: 500 });

    expect(toErrorResponse(err, REQUEST_ID).body.error).toEqual({ code: 'INTERNAL', message: 'Internal error' });
  });

  it('renders a value the database refuses (SQLSTATE class 22) as 400, not 500', () => {
    const log = logSink();
    const err = Object.assign(new Error('Failed query: insert …'), {
      cause: Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
    });

    expect(toErrorResponse(err, REQUEST_ID, log)).toEqual({
      status: 400,
      body: {
        error: { code: 'VALIDATION_FAILED', message: 'A value in the request cannot be stored' },
        requestId: REQUEST_ID,
      },
    });
    expect(log.error).not.toHaveBeenCalled();
  });

  it.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [
      'a server shutting down',
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['a pool timeout', new Error('timeout exceeded when trying to connect')],
    [
      'a wrapped connection failure',
      Object.assign(new Error('Failed query: select 1'), {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
    ],
  ])('maps %s to 503 UNAVAILABLE and logs a warning', (_name, err) => {
    const log = logSink();

    const sut = toErrorResponse(err, REQUEST_ID, log);

    expect(sut).toEqual({
      status: 503,
      body: {
        error: { code: 'UNAVAILABLE', message: 'The database is unavailable; retry shortly' },
        requestId: REQUEST_ID,
      },
    });
    expect(log.warn).toHaveBeenCalledWith({ err }, 'database unavailable');
    expect(log.error).not.toHaveBeenCalled();
  });
});

/** The errors Fastify itself raises, rendered through the same handler the services install. */
describe(`${toErrorResponse.name} with Fastify's own errors`, () => {
  const app = Fastify({ bodyLimit: 64 });

  beforeAll(async () => {
    app.setErrorHandler((err, req, reply) => {
      const { status, body } = toErrorResponse(err, String(req.id));
      void reply.status(status).send(body);
    });
    app.post('/echo', async (req) => ({ got: req.body }));
    await app.ready();
  });

  afterAll(() => app.close());

  const post = (payload: string, contentType = 'application/json') =>
    app.inject({ method: 'POST', url: '/echo', payload, headers: { 'content-type': contentType } });

  it('answers 413 PAYLOAD_TOO_LARGE for a body over the limit', async () => {
    const res = await post(JSON.stringify({ text: 'x'.repeat(200) }));

    expect(res.statusCode).toBe(413);
    expect(res.json().error).toEqual({ code: 'PAYLOAD_TOO_LARGE', message: 'Body exceeds 1 MB' });
  });

  it('answers 400 for malformed JSON', async () => {
    const res = await post('{"a": ');

    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: 'VALIDATION_FAILED', message: 'Body is not valid JSON' });
  });

  it('answers 400 for an empty JSON body', async () => {
    const res = await post('');

    expect(res.statusCode).toBe(400);
    expect(res.json().error).toEqual({ code: 'VALIDATION_FAILED', message: 'Body is not valid JSON' });
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await post('hello', 'text/csv');

    expect(res.statusCode).toBe(415);
    expect(res.json().error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send application/json' });
  });

  it('passes a valid body through', async () => {
    const res = await post('{"a":1}');

    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ got: { a: 1 } });
  });
});
