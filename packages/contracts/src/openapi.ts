import { z } from 'zod';
import { ErrorBody } from './errors.js';
import { API_PREFIX, type RouteDef } from './route.js';

type Json = Record<string, unknown>;

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (VALIDATION_FAILED)',
  401: 'Missing, invalid or revoked credentials',
  403: 'The caller lacks a required role (FORBIDDEN)',
  404: 'Not found (NOT_FOUND)',
  409: 'Conflict with the current state',
  413: 'Body larger than 1 MB (PAYLOAD_TOO_LARGE)',
  429: 'Too many attempts or requests (TOO_MANY_ATTEMPTS, TOO_MANY_REQUESTS)',
  503: 'A downstream service or the database is unavailable (UNAVAILABLE)',
};

function schemaOf(type: z.ZodType, io: 'input' | 'output'): Json {
  const json = z.toJSONSchema(type, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Json;
  delete json.$schema;
  return json;
}

function parametersOf(obj: z.ZodObject | undefined, where: 'path' | 'query'): Json[] {
  if (!obj) return [];
  const json = schemaOf(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, schema]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema,
  }));
}

/** One OpenAPI 3 document for the whole public API, derived from the route table. */
export function buildOpenApi(routes: ReadonlyArray<RouteDef & { id: string }>, info: { version: string }): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const path = `${API_PREFIX}${r.path}`;
    const responses: Record<string, Json> = {
      [r.status]: r.response
        ? { description: 'Success', content: { 'application/json': { schema: schemaOf(r.response, 'output') } } }
        : { description: 'Success, no content' },
    };
    const errorStatuses = new Set<number>([400, 503, ...r.errors]);
    if (r.access !== 'public') errorStatuses.add(401);
    if (Array.isArray(r.access)) errorStatuses.add(403);
    for (const s of [...errorStatuses].sort()) {
      responses[s] = {
        description: ERROR_TEXT[s] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const security: Json[] = [];
    if (r.access !== 'public') security.push({ bearer: [] });
    if (r.apiKeyScope) security.push({ apiKey: [] });
    const headerParams = Object.entries(r.headers?.shape ?? {}).map(([name, schema]) => {
      const { description, ...json } = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
      delete json.$schema;
      return { name, in: 'header', required: !(schema as z.ZodType).safeParse(undefined).success, description, schema: json };
    });
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      operationId: r.id,
      summary: r.summary,
      tags: [r.tag],
      description: Array.isArray(r.access) ? `Roles: ${r.access.join(', ')}${r.apiKeyScope ? `, or an API key with scope ${r.apiKeyScope}` : ''}` : `Access: ${r.access}`,
      parameters: [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query'), ...headerParams],
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } }
        : {}),
      responses,
      ...(security.length ? { security } : {}),
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Event & Reward Platform', version: info.version },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Error: schemaOf(ErrorBody, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      },
    },
  };
}
