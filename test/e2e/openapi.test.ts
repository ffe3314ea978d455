import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiResponses } from '../support/openapi-responses.js';
import { startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** What third-party tools make of the document the gateway serves at /docs-json. */
describe('the OpenAPI document', () => {
  let stack: Stack;
  let dir: string;
  let file: string;
  let document: any;

  beforeAll(async () => {
    stack = await startStack();
    dir = mkdtempSync(join(tmpdir(), 'rewards-openapi-'));
    const res = await fetch(`${stack.gatewayUrl}/docs-json`);
    expect(res.status).toBe(200);
    document = await res.json();
    file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(document));
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has named, referenced components and every $ref resolves', () => {
    expect(document.openapi).toBe('3.1.0');
    const schemas = Object.keys(document.components.schemas);
    for (const name of [
      'User',
      'Event',
      'EventDetail',
      'Reward',
      'Claim',
      'Grant',
      'Condition',
      'ConditionGroup',
      'AuditEntry',
      'ApiKey',
      'Error',
    ]) {
      expect(schemas).toContain(name);
    }
    expect(schemas.filter((s) => s.startsWith('__'))).toEqual([]);
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas, ref).toContain(ref.slice('#/components/schemas/'.length));
    }
  });

  it('lists on each operation the statuses it answers, with their error codes', () => {
    const claim = document.paths['/api/v1/events/{id}/claims'].post;
    expect(Object.keys(claim.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '429',
      '503',
      'default',
    ]);
    expect(claim.responses['409'].content['application/json'].schema.properties.error.properties.code.enum).toEqual([
      'ALREADY_CLAIMED',
      'IDEMPOTENCY_CONFLICT',
    ]);
    const register = document.paths['/api/v1/auth/register'].post;
    expect(Object.keys(register.responses)).toEqual(expect.arrayContaining(['201', '409', '413', '415', '429']));
    expect(document.paths['/api/v1/activities'].post.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(document.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(document.paths['/.well-known/jwks.json'].get.responses['200']).toBeDefined();
  });

  it('passes Redocly’s lint with no error and no warning', async () => {
    const { stdout, stderr } = await run(bin('redocly'), ['lint', file, '--format', 'json'], {
      cwd: dir,
      maxBuffer: 1 << 24,
    }).catch((err: { stdout: string; stderr: string }) => err);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { totals: { errors: number; warnings: number } };
    expect(report.totals, stderr).toEqual(expect.objectContaining({ errors: 0, warnings: 0 }));
  }, 120_000);

  it('passes Spectral’s spectral:oas ruleset with no error', async () => {
    const ruleset = join(dir, '.spectral.yaml');
    writeFileSync(ruleset, 'extends: ["spectral:oas"]\n');
    const { stdout } = await run(bin('spectral'), ['lint', file, '--ruleset', ruleset, '--format', 'json', '--quiet'], {
      cwd: dir,
      maxBuffer: 1 << 24,
    }).catch((err: { stdout: string }) => err);
    const results = JSON.parse(stdout || '[]') as { code: string; severity: number; path: string[] }[];
    expect(results.map((r) => `${r.code} ${r.path.join('.')}`)).toEqual([]);
  }, 120_000);

  it('types a client with openapi-typescript that type-checks, error codes included', async () => {
    await run(
      join(root, 'tools', 'openapi-types', 'node_modules', '.bin', 'openapi-typescript'),
      [file, '-o', join(dir, 'api.d.ts')],
      { cwd: dir },
    );
    writeFileSync(
      join(dir, 'client.ts'),
      `import type { components, paths } from './api';
type Login = paths['/api/v1/auth/login']['post']['responses']['200']['content']['application/json'];
export const tokens: Login = { accessToken: 'a', refreshToken: 'r', tokenType: 'Bearer', expiresIn: 900 };
type Conflict = paths['/api/v1/events/{id}/claims']['post']['responses']['409']['content']['application/json']['error']['code'];
export const code: Conflict = 'ALREADY_CLAIMED';
// @ts-expect-error EMAIL_TAKEN is not an answer of POST /events/{id}/claims
export const wrong: Conflict = 'EMAIL_TAKEN';
export const user: components['schemas']['User'] = {
  id: '3c2d6a0e-5b1f-4f8e-9a7d-2e6b8c4f1a90', email: 'a@example.com', displayName: 'A', roles: ['USER'], inviteCode: 'ABCDEFGHJK',
  createdAt: '2026-12-01T00:00:00.000Z',
};
type Rewards = components['schemas']['EventDetail']['rewards'];
export const rewards: Rewards = [];
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          skipLibCheck: false,
        },
        files: ['client.ts'],
      }),
    );
    const result = await run(bin('tsc'), ['-p', join(dir, 'tsconfig.json')], { cwd: dir }).catch(
      (err: { stdout: string }) => err,
    );
    expect((result as { stdout: string }).stdout).toBe('');
  }, 120_000);

  it('the response check used by every e2e client refuses what the document does not describe', () => {
    const sut = new OpenApiResponses();
    expect(sut.problem('getEvent', 418, {})).toMatch(/answered 418, which the document does not list/);
    expect(sut.problem('getEvent', 200, { event: { id: 'x' } })).toMatch(/body does not match the document/);
    expect(sut.problem('logout', 204, undefined)).toBeUndefined();
    expect(
      sut.problem('me', 401, { error: { code: 'UNAUTHENTICATED', message: 'Sign in first' }, requestId: 'r-1' }),
    ).toBeUndefined();
    expect(sut.problem('me', 401, { error: { code: 'EMAIL_TAKEN', message: 'x' }, requestId: 'r-1' })).toMatch(
      /does not match/,
    );
  });
});
