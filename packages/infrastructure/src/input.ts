import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { RouteDef } from '@rewards/contracts';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, zodIssues } from './errors.js';

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A route's validated input: each part parsed by the route's own schema (undefined where it has none). */
export interface InputOf<R extends RouteDef> {
  params: Parsed<R['params']>;
  query: Parsed<R['query']>;
  headers: Parsed<R['headers']>;
  body: Parsed<R['body']>;
}

const MAX_REPORTED = 20;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store this text, if it could not. */
function unstorableReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no lone surrogates)';
  return undefined;
}

interface Issue {
  path: string;
  code: string;
  message: string;
}

/**
 * Strings and keys PostgreSQL cannot store, with their paths (`activities.0.attributes.note`), depth
 * first. Its text and jsonb cannot hold U+0000 and jsonb refuses an unpaired UTF-16 surrogate, so
 * such a value is bad input, answered 400 before it reaches the database.
 */
export function unstorable(value: unknown, path: string[] = [], found: Issue[] = []): Issue[] {
  if (found.length >= MAX_REPORTED) return found;
  const report = (at: string[], message: string | undefined) => {
    if (message) found.push({ path: at.join('.'), code: 'invalid_format', message });
    return message !== undefined;
  };
  if (typeof value === 'string') {
    report(path, unstorableReason(value));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      unstorable(v, [...path, String(i)], found);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!report([...path, k], unstorableReason(k))) unstorable(v, [...path, k], found);
    }
  }
  return found;
}

/** A route's header schema names headers as documented (`Idempotency-Key`); Fastify holds them lower-cased. */
function headersFor(schema: z.ZodObject, raw: FastifyRequest['headers']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = raw[name.toLowerCase()];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function parsePart(schema: z.ZodType | undefined, value: unknown): unknown {
  if (!schema) return undefined;
  let result: ReturnType<z.ZodType['safeParse']>;
  try {
    const storable = unstorable(value);
    if (storable.length) throw new AppError('VALIDATION_FAILED', 'Request is invalid', storable);
    result = schema.safeParse(value);
  } catch (err) {
    // JSON parses any nesting; walking it recursively overflows the stack a few thousand levels
    // down. No route takes anything nested that deep: the caller's input, not a server fault.
    if (!(err instanceof RangeError)) throw err;
    throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
      { path: '', code: 'too_deep', message: 'The input nests too deeply' },
    ]);
  }
  if (!result.success) throw new AppError('VALIDATION_FAILED', 'Request is invalid', zodIssues(result.error));
  return result.data;
}

/**
 * Validates a request against its contract route: path parameters, query, headers and body, each
 * with the route's schema, in that order (the first part that fails answers 400 with its issues).
 */
export function parseInput<R extends RouteDef>(
  route: R,
  req: Pick<FastifyRequest, 'params' | 'query' | 'headers' | 'body'>,
): InputOf<R> {
  return {
    params: parsePart(route.params, req.params ?? {}),
    query: parsePart(route.query, req.query ?? {}),
    headers: route.headers ? parsePart(route.headers, headersFor(route.headers, req.headers)) : undefined,
    body: parsePart(route.body, req.body),
  } as InputOf<R>;
}

/** Where `Endpoint` keeps a handler's contract route. */
export const ROUTE_KEY = 'rewards:route';

/**
 * The validated input of the contract route the handler is bound to with `@Endpoint(route)`:
 * one source for every rule a route's input follows. Type it as `InputOf<typeof routes.x>`.
 */
export const Input = createParamDecorator((_data: unknown, ctx: ExecutionContext) => {
  const route = Reflect.getMetadata(ROUTE_KEY, ctx.getHandler()) as RouteDef | undefined;
  if (!route) throw new Error(`@Input() on ${ctx.getHandler().name}, which has no @Endpoint(route)`);
  return parseInput(route, ctx.switchToHttp().getRequest<FastifyRequest>());
});

/**
 * Validates a value with a schema for routes outside the contract table (`/internal/*`):
 * `@Body(new ZodPipe(schema))`.
 */
export class ZodPipe<S extends z.ZodType> {
  constructor(private readonly schema: S) {}
  transform(value: unknown): z.output<S> {
    return parsePart(this.schema, value ?? {}) as z.output<S>;
  }
}
