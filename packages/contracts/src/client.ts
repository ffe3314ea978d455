import type { z } from 'zod';
import { API_PREFIX, type RouteDef } from './route.js';
import { routes, type Routes } from './routes.js';

type BodyOf<R> = R extends { body: z.ZodType } ? z.input<R['body']> : never;
type ParamsOf<R> = R extends { params: z.ZodObject } ? z.input<R['params']> : never;
type QueryOf<R> = R extends { query: z.ZodObject } ? Partial<z.input<R['query']>> : never;
type ResponseOf<R> = R extends { response: z.ZodType } ? z.output<R['response']> : undefined;

export interface CallOptions<R> {
  params?: ParamsOf<R> | Record<string, string>;
  query?: QueryOf<R> | Record<string, string | number | undefined>;
  /** Anything to send as the body; typed for convenience, not enforced, so tests can send bad input. */
  body?: BodyOf<R> | unknown;
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

export interface CallResult<R> {
  status: number;
  /** Parsed JSON body: the route's response on success, the error body otherwise. */
  // biome-ignore lint/suspicious/noExplicitAny: an error body (or a test's deliberately bad answer) has no static shape
  body: ResponseOf<R> & Record<string, any>;
  headers: Headers;
}

/** A typed client over the route table: a contract change breaks its callers at compile time. */
export function createClient(baseUrl: string) {
  async function call<K extends keyof Routes>(
    id: K,
    opts: CallOptions<Routes[K]> = {},
  ): Promise<CallResult<Routes[K]>> {
    const route = routes[id] as RouteDef;
    let path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
      encodeURIComponent(String((opts.params as Record<string, string> | undefined)?.[name] ?? '')),
    );
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries((opts.query ?? {}) as Record<string, unknown>)) {
      if (v !== undefined) qs.set(k, String(v));
    }
    if ([...qs].length) path += `?${qs}`;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
    let payload: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    }
    const res = await fetch(`${baseUrl}${API_PREFIX}${path}`, { method: route.method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers } as CallResult<
      Routes[K]
    >;
  }
  return { call };
}
export type Client = ReturnType<typeof createClient>;
