import { createRequire } from 'node:module';
import { routeList, type Client } from '@rewards/contracts';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { buildOpenApiDocument } from '../../apps/gateway/dist/openapi.document.js';

const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: Ajv2020) => void;

/**
 * Checks every answer the test client receives against the OpenAPI document the gateway serves:
 * the status must be one the operation documents, and the body must match that status's schema.
 * A response the document does not describe fails the test that received it.
 */
export class OpenApiResponses {
  private readonly document = buildOpenApiDocument(routeList, '1.0.0') as {
    paths: Record<
      string,
      Record<string, { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }>
    >;
  };
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction | null>();
  private readonly operations = new Map<string, { path: string; method: string }>();

  constructor() {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...this.document, $id: 'openapi' });
    for (const [path, item] of Object.entries(this.document.paths)) {
      for (const [method, op] of Object.entries(item)) this.operations.set(op.operationId, { path, method });
    }
  }

  /** The problem with an answer, or undefined when the document describes it. */
  problem(operationId: string, status: number, body: unknown): string | undefined {
    const where = this.operations.get(operationId);
    if (!where) return `operation ${operationId} is not in the document`;
    const responses = this.document.paths[where.path]![where.method]!.responses;
    const key = responses[String(status)] ? String(status) : status >= 500 && responses.default ? 'default' : undefined;
    if (!key)
      return `${operationId} answered ${status}, which the document does not list (${Object.keys(responses).join(', ')})`;
    const cacheKey = `${operationId} ${key}`;
    if (!this.validators.has(cacheKey)) {
      const content = responses[key]!.content?.['application/json'];
      const pointer = `openapi#/paths/${where.path.replace(/~/g, '~0').replace(/\//g, '~1')}/${where.method}/responses/${key}/content/application~1json/schema`;
      this.validators.set(cacheKey, content ? this.ajv.compile({ $ref: pointer }) : null);
    }
    const validate = this.validators.get(cacheKey);
    if (!validate)
      return body === undefined ? undefined : `${operationId} ${status}: the document describes no body, got one`;
    if (validate(body)) return undefined;
    const errors = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`);
    return `${operationId} ${status}: body does not match the document: ${errors.join('; ')} — ${JSON.stringify(body).slice(0, 300)}`;
  }

  /** The client, with every answer checked. */
  wrap(client: Client): Client {
    return {
      call: async (id, opts) => {
        const res = await client.call(id, opts);
        const problem = this.problem(id, res.status, res.body);
        if (problem) throw new Error(`response not described by the OpenAPI document: ${problem}`);
        return res;
      },
    };
  }
}

let shared: OpenApiResponses | undefined;
export const openApiResponses = () => (shared ??= new OpenApiResponses());
