/**
 * A seeded request generator for fuzzing the public API from its OpenAPI document.
 *
 * Every request is derived from `(seed, index)` alone, so one failing request can be rebuilt from
 * the two numbers; only the live values it refers to (tokens, ids) come from the fixture.
 */

// ---- Randomness ----------------------------------------------------------------------------------

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T;
  shuffle<T>(items: T[]): T[];
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
    weighted: (items) => {
      const total = items.reduce((n, [w]) => n + w, 0);
      let r = next() * total;
      for (const [w, v] of items) {
        r -= w;
        if (r < 0) return v;
      }
      return items[items.length - 1]![1];
    },
    shuffle: (items) => {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
  return rng;
}

/** The seed of request `index` in a run seeded with `seed` (a 32-bit mix of both). */
export function requestSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---- The OpenAPI document ------------------------------------------------------------------------

export type Schema = Record<string, any>;

export interface Operation {
  operationId: string;
  method: string;
  /** Full path template, e.g. `/api/v1/events/{id}`. */
  path: string;
  pathParams: string[];
  query: { name: string; required: boolean; schema: Schema }[];
  headers: { name: string; schema: Schema }[];
  body?: Schema;
  secured: boolean;
  apiKey: boolean;
  /** Roles the operation admits, from its description (`Roles: OPERATOR, ADMIN`); undefined when any signed-in caller may. */
  roles?: string[];
}

export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const params = (op.parameters ?? []) as { name: string; in: string; required?: boolean; schema: Schema }[];
      const security = (op.security ?? []) as Record<string, unknown>[];
      out.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: !!p.required, schema: p.schema })),
        headers: params.filter((p) => p.in === 'header').map((p) => ({ name: p.name, schema: p.schema })),
        body: op.requestBody?.content?.['application/json']?.schema,
        secured: security.some((s) => 'bearer' in s),
        apiKey: security.some((s) => 'apiKey' in s),
        roles: /^Roles: ([A-Z, ]+?)(?:, or an API key.*)?$/.exec(op.description ?? '')?.[1]?.split(', '),
      });
    }
  }
  return out;
}

// ---- Live values the generator refers to ---------------------------------------------------------

export type RoleName = 'ADMIN' | 'OPERATOR' | 'USER' | 'AUDITOR';

export interface Fixture {
  /** Current access tokens; the runner renews them when a fuzzed request ends a session. */
  tokens: Record<RoleName | 'VICTIM', string>;
  /** The victim's current refresh token (fuzzed refreshes rotate and revoke it). */
  victimRefresh: string;
  apiKey: string;
  /** Key id of auth's signing key, for forged tokens that get past the key lookup. */
  kid: string;
  userIds: Record<RoleName | 'VICTIM', string>;
  /** Credentials fuzzed logins may use (never those of the users holding the tokens above). */
  loginTarget: { email: string; password: string };
  inviteCode: string;
  events: { main: string; manual: string; mutable: string };
  rewardIds: string[];
  claims: { approved: string[]; pending: string[] };
  /**
   * Ids the run itself created (events, pending claims, users), collected from its responses so
   * later requests reach state changes beyond the first; these make a request's content depend on
   * the order responses arrived in, so failures print the request itself.
   */
  created: { events: string[]; pending: string[]; users: string[] };
}

// ---- Nasty values ---------------------------------------------------------------------------------

/** A raw JSON literal spliced into the serialized body (values JSON.stringify cannot express). */
export class Raw {
  constructor(readonly text: string) {
    Object.freeze(this);
  }
}

export const INJECTIONS = [
  "' OR 1=1--",
  "'; drop table claims;--",
  "'; DROP TABLE users; --",
  '" OR ""="',
  "1' AND pg_sleep(5)--",
  "admin'--",
  "') OR ('1'='1",
  '%27%20OR%201%3D1--',
  '$(reboot)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent as text
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '%s%s%s%n',
  'null',
  'undefined',
  'NaN',
  'true',
  '[]',
  '{}',
  '\\',
  '\\u0000',
];

export const UNICODE = [
  '\u0000',
  'a\u0000b',
  '\u0000'.repeat(10),
  '\ud800',
  '\udfff',
  'x\ud83dy',
  '\ud83d\ude00',
  '👨‍👩‍👧‍👦🏳️‍🌈',
  '\u202eevil\u202c',
  'مرحبا بالعالم',
  'שלום',
  '\u200b\u200c\u200d\ufeff',
  '\ufeffBOM',
  'Z̴̡̢a̷̧͙l̸̡g̶̢o̷',
  'Ω≈ç√∫˜µ≤≥÷',
  '𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐',
  '\u0001\u0002\u0003\u001f\u007f',
  '\r\n\t\v\f',
  '   ',
  '',
  'ﷺ',
  '\uffff\ufffe',
  '＜script＞',
  'İıſK',
];

export const NOSQL = [
  { $gt: '' },
  { $ne: null },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: [] },
  { $or: [{}] },
];

const NUMBER_EDGES: unknown[] = [
  0,
  -1,
  1.5,
  -0.5,
  2147483647,
  2147483648,
  -2147483649,
  Number.MAX_SAFE_INTEGER,
  // biome-ignore lint/correctness/noPrecisionLoss: the point: a literal past 2^53 that JSON readers round
  9007199254740993,
  1e21,
  1e308,
  -1e308,
  5e-324,
  new Raw('-0'),
  new Raw('1e400'),
  new Raw('-1e400'),
  new Raw('1e-400'),
  new Raw('1E+2'),
  new Raw('100000000000000000000000000000000000000000000000000000000000'),
  new Raw('0.0000000000000000000000000000000000000000000000000000001'),
];

const DATE_EDGES = [
  'not-a-date',
  '2024-02-30T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00+14:00',
  '2024-01-01T00:00:00+25:00',
  '2024-01-01T24:00:00Z',
  '2024-01-01T00:00:60Z',
  '2024-01-01T00:00:00',
  '2024-01-01',
  '2024-01-01T00:00:00.1234567890123456789Z',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2024-01-01T00:00:00z',
  '2024-01-01 00:00:00Z',
  '１２３４-01-01T00:00:00Z',
];

const UUID_LIKE = [
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
  'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz',
  '123e4567-e89b-12d3-a456-4266141740000',
  '123e4567-e89b-12d3-a456-42661417400',
  '123e4567e89b12d3a456426614174000',
  '{123e4567-e89b-12d3-a456-426614174000}',
  '123e4567-e89b-12d3-a456-42661417400\u0000',
  '------------------------------------',
  '123e4567-e89b-92d3-c456-426614174000',
  ' 123e4567-e89b-12d3-a456-426614174000',
];

const EMAILS = [
  'a@b',
  '@',
  'plain',
  'a@b.c',
  'ADMIN@EXAMPLE.COM',
  ' admin@example.com ',
  'a+tag@example.com',
  'a@[127.0.0.1]',
  '"quoted"@example.com',
  'a@example.com\u0000',
  `${'a'.repeat(250)}@example.com`,
  'ü@exämple.com',
  "o'brien@example.com",
];

const TIMEZONES = [
  'Asia/Seoul',
  'UTC',
  'Etc/GMT+14',
  'Etc/GMT-14',
  'Mars/Olympus',
  'EST5EDT',
  '+09:00',
  'Asia/Seoul\u0000',
  '../../../etc/localtime',
  'asia/seoul',
  'GMT',
  'Pacific/Kiritimati',
  'America/Argentina/ComodRivadavia',
  'Factory',
  'Europe/Kyiv',
  'America/Ciudad_Juarez',
];

const ROLES = ['USER', 'OPERATOR', 'AUDITOR', 'ADMIN'];

/** A string of some character class that takes about `bytes` bytes once serialized as JSON (escapes included). */
export function longString(rng: Rng, bytes: number): string {
  const unit = rng.pick(['A', 'ab', '🙂', 'é', '\u0000', "'", '"', '\\', ' ', 'ŋ', 'a\u0000', '\ud800']);
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2;
  return unit.repeat(Math.max(1, Math.floor(bytes / unitBytes)));
}

function randomText(rng: Rng, max = 40): string {
  const alphabet = 'abcXYZ019_-./:@ %$#\'"\\<>{}[]éß中🙂\u0000\t';
  let s = '';
  const n = rng.int(0, max);
  for (let i = 0; i < n; i++) s += alphabet[rng.int(0, alphabet.length - 1)];
  return [...s].join('');
}

export function randomUuid(rng: Rng): string {
  const hex = () => rng.int(0, 15).toString(16);
  const block = (n: number) => Array.from({ length: n }, hex).join('');
  return `${block(8)}-${block(4)}-4${block(3)}-${rng.pick(['8', '9', 'a', 'b'])}${block(3)}-${block(12)}`;
}

/** A deep copy that keeps `Raw` literals (catalog values are shared and bodies get mutated in place). */
function clone<T>(v: T): T {
  if (v instanceof Raw || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
}

/** Any bad value, by kind of the field it replaces. */
export function nastyValue(rng: Rng, schema: Schema | undefined, ctx: { huge: boolean }): unknown {
  return clone(pickNasty(rng, schema, ctx));
}

function pickNasty(rng: Rng, schema: Schema | undefined, ctx: { huge: boolean }): unknown {
  const s = schema ?? {};
  const contextual: unknown[] = [];
  if (s.type === 'string' || s.enum) {
    if (s.format === 'uuid') contextual.push(...UUID_LIKE);
    if (s.format === 'date-time') contextual.push(...DATE_EDGES);
    if (s.enum)
      contextual.push(
        ...s.enum.map((e: string) => e.toLowerCase()),
        ...s.enum.map((e: string) => ` ${e}`),
        `${s.enum[0]}\u0000`,
      );
    if (typeof s.maxLength === 'number') contextual.push('x'.repeat(s.maxLength + 1), 'x'.repeat(s.maxLength));
    if (s.minLength) contextual.push('x'.repeat(Math.max(0, s.minLength - 1)));
    if (s.pattern) contextual.push('A__B', '_A', 'a', 'A'.repeat(65), 'LOGIN', 'LEVEL_UP', 'A1_2');
  }
  if (s.type === 'integer' || s.type === 'number') {
    contextual.push(...NUMBER_EDGES);
    if (typeof s.minimum === 'number') contextual.push(s.minimum - 1, s.minimum);
    if (typeof s.maximum === 'number') contextual.push(s.maximum + 1, s.maximum, s.maximum + 0.5);
    contextual.push('1', '1e3', '', ' 5 ');
  }
  if (s.type === 'array') contextual.push([], [null], new Array(rng.int(5, 2000)).fill(0), 'USER', { 0: 'USER' });
  if (s.type === 'object') contextual.push({}, [], 'object', { $gt: '' });
  const kind = rng.weighted<string>([
    [contextual.length ? 40 : 0, 'contextual'],
    [12, 'wrongType'],
    [10, 'injection'],
    [10, 'unicode'],
    [6, 'nosql'],
    [8, 'number'],
    [5, 'text'],
    [ctx.huge ? 6 : 0, 'long'],
    [3, 'email'],
    [3, 'timezone'],
    [3, 'nested'],
  ]);
  switch (kind) {
    case 'contextual':
      return rng.pick(contextual);
    case 'wrongType':
      return rng.pick<unknown>([null, true, false, 0, 1, -1, '', 'string', [], {}, [1, 2], { a: 1 }, [[[]]]]);
    case 'injection':
      return rng.pick(INJECTIONS);
    case 'unicode':
      return rng.pick(UNICODE);
    case 'nosql':
      return rng.pick(NOSQL);
    case 'number':
      return rng.pick(NUMBER_EDGES);
    case 'text':
      return randomText(rng);
    case 'long':
      return longString(rng, rng.pick([257, 513, 4097, 10_000, 65_537]));
    case 'email':
      return rng.pick(EMAILS);
    case 'timezone':
      return rng.pick(TIMEZONES);
    default:
      return { __proto__x: 1, constructor: { prototype: { polluted: true } }, nested: [{ $gt: '' }] };
  }
}

// ---- Valid values from a schema ------------------------------------------------------------------

interface GenCtx {
  rng: Rng;
  root: Schema;
  fx: Fixture;
  op: Operation;
  now: number;
  depth: number;
}

function resolve(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 10 && s.$ref; i++) {
    const name = String(s.$ref).replace(/^#\/(definitions|\$defs|components\/schemas)\//, '');
    const target = root.definitions?.[name] ?? root.$defs?.[name];
    if (!target) break;
    const { $ref: _ref, ...rest } = s;
    s = Object.keys(rest).length ? { ...target, ...rest } : target;
  }
  if (s.allOf?.length === 1)
    return resolve({ ...s.allOf[0], ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'allOf')) }, root);
  return s;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A value the field's schema accepts, with realistic content where the name says what it is. */
function validValue(schema: Schema, g: GenCtx, name?: string): unknown {
  const s = resolve(schema, g.root);
  const { rng, fx } = g;
  // Fields whose valid values depend on the data in the stack.
  switch (name) {
    case 'email':
      // Some logins go to an account that only ever fails (so the throttle answers 429), some registrations to a taken email.
      if (g.op.operationId === 'login') return rng.chance(0.15) ? 'throttled@example.com' : fx.loginTarget.email;
      return rng.chance(0.08) ? fx.loginTarget.email : `fuzz.${rng.int(0, 1e9)}@example.com`;
    case 'password':
      return g.op.operationId === 'login' ? fx.loginTarget.password : `pw-${rng.int(1e7, 1e8)}`;
    case 'refreshToken':
      return fx.victimRefresh;
    case 'inviteCode':
      return rng.chance(0.7) ? fx.inviteCode : 'NOPE23456789AB';
    case 'userId':
      return rng.chance(0.8) ? fx.userIds[rng.pick(['USER', 'VICTIM', 'OPERATOR'] as const)] : randomUuid(rng);
    case 'startsAt':
      return iso(g.now - rng.int(1, 48) * 3_600_000);
    case 'endsAt':
      return iso(g.now + rng.int(1, 30) * 86_400_000);
    case 'occurredAt':
      return iso(g.now - rng.int(0, 72) * 3_600_000);
    case 'timezone':
      return rng.pick(['Asia/Seoul', 'UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata']);
    case 'id':
      if (g.op.operationId === 'ingestActivities') return `fuzz-${rng.int(0, 1e9)}`;
      break;
    case 'type':
      if (s.pattern) return rng.pick(['LEVEL_UP', 'QUEST_CLEARED', 'PURCHASE', 'LOGIN', 'FUZZ_EVENT']);
      break;
    case 'roles':
      return rng.shuffle([...ROLES]).slice(0, rng.int(1, 2));
    case 'status':
      if (g.op.operationId === 'updateEvent')
        return rng.weighted([
          [6, 'ACTIVE'],
          [4, 'PAUSED'],
          [1, 'DRAFT'],
          [1, 'ENDED'],
        ] as const);
      break;
    case 'attributes':
      return { level: rng.int(1, 99), source: 'fuzz', tags: ['a', 'b'] };
    case 'stock':
      return rng.chance(0.3) ? null : rng.int(10, 1000);
    case 'quantity':
      return rng.int(1, 10);
  }
  if (s.anyOf) {
    // Conditions: keep the nesting shallow so most generated trees are valid.
    const options = (s.anyOf as Schema[]).map((o) => resolve(o, g.root));
    const leaves = options.filter((o) => !o.properties?.of);
    const choice = g.depth >= 2 || rng.chance(0.75) ? rng.pick(leaves.length ? leaves : options) : rng.pick(options);
    return validValue(choice, { ...g, depth: g.depth + 1 });
  }
  if (s.enum) return rng.pick(s.enum);
  if (s.nullable && rng.chance(0.1)) return null;
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(s.required ?? []);
      for (const [key, sub] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
        if (required.has(key) || rng.chance(0.6)) out[key] = validValue(sub, g, key);
      }
      return out;
    }
    case 'array': {
      const min = s.minItems ?? 0;
      const max = Math.min(s.maxItems ?? 3, min + 3);
      return Array.from({ length: rng.int(Math.max(min, 1), Math.max(max, 1)) }, () =>
        validValue(s.items ?? {}, { ...g, depth: g.depth + 1 }),
      );
    }
    case 'integer': {
      const lo = s.minimum ?? 0;
      const hi = Math.min(s.maximum ?? lo + 100, lo + 5);
      return rng.int(lo, hi);
    }
    case 'number': {
      const lo = s.minimum ?? 0;
      return lo + 1 + Math.round(rng.next() * 1000) / 10;
    }
    case 'string': {
      if (s.format === 'uuid') return randomUuid(rng);
      if (s.format === 'date-time') return iso(g.now - rng.int(0, 1e6) * 1000);
      if (s.pattern) return 'FUZZ_TYPE';
      const min = s.minLength ?? 1;
      const max = Math.min(s.maxLength ?? 20, 20);
      const len = rng.int(Math.max(min, 1), Math.max(min, max));
      return rng.chance(0.2)
        ? rng.pick(['Ünïcödé 🙂', 'مرحبا', 'tab\there']).slice(0, max)
        : 'fuzz-'.concat('x'.repeat(len)).slice(0, Math.max(len, min));
    }
    case 'boolean':
      return rng.chance(0.5);
    default:
      return rng.pick([1, 'x', true, null]);
  }
}

// ---- Mutating a valid body -----------------------------------------------------------------------

type PathKey = string | number;

/** Every location in a JSON value, with the schema that describes it (when known). */
function locations(
  value: unknown,
  schema: Schema | undefined,
  root: Schema,
  at: PathKey[] = [],
  out: { path: PathKey[]; schema?: Schema }[] = [],
) {
  const s = schema ? resolve(schema, root) : undefined;
  if (at.length) out.push({ path: at, schema: s });
  if (value instanceof Raw) return out;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      locations(v, s?.items, root, [...at, i], out);
    });
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      let sub: Schema | undefined = s?.properties?.[k];
      if (!sub && s?.anyOf) {
        const opt = (s.anyOf as Schema[]).map((o) => resolve(o, root)).find((o) => o.properties?.[k]);
        sub = opt?.properties?.[k];
      }
      locations(v, sub, root, [...at, k], out);
    }
  }
  return out;
}

function setAt(target: any, path: PathKey[], value: unknown): void {
  let t = target;
  for (const k of path.slice(0, -1)) t = t[k];
  t[path[path.length - 1]!] = value;
}

function deleteAt(target: any, path: PathKey[]): void {
  let t = target;
  for (const k of path.slice(0, -1)) t = t[k];
  const last = path[path.length - 1]!;
  if (Array.isArray(t) && typeof last === 'number') t.splice(last, 1);
  else delete t[last];
}

/** JSON text with `Raw` values spliced in as literal text and keys kept verbatim (including `__proto__`). */
export function serialize(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k.replace(/^__proto__x$/, '__proto__'))}:${serialize(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Valid-shaped condition trees nested far beyond the allowed depth (stresses recursive validation). */
export function deepCondition(depth: number): string {
  return `${'{"type":"ALL","of":['.repeat(depth)}{"type":"LOGIN_DAYS","days":1}${']}'.repeat(depth)}`;
}

const MALFORMED: ReadonlyArray<(valid: string, rng: Rng) => string | Buffer> = [
  (v, rng) => v.slice(0, rng.int(0, Math.max(0, v.length - 1))),
  (v) => v.replace(/}$/, ',}'),
  (v) => v.replace(/\]/, ',]'),
  (v) => v.replace(/:("[^"]*"|\d+)/, ':NaN'),
  (v) => v.replace(/:("[^"]*"|\d+)/, ':Infinity'),
  (v) => v.replace(/:("[^"]*"|\d+)/, ':undefined'),
  (v) => v.replace(/"/g, "'"),
  (v) => `/* comment */${v}`,
  (v) => `\ufeff${v}`,
  (v) => `${v}${v}`,
  (v) => `${v}garbage`,
  (v) => v.replace(/"(\w+)":/g, '$1:'),
  (v) => `{"__proto__":{"isAdmin":true},${v.slice(1)}`,
  (v) => `{"constructor":{"prototype":{"isAdmin":true}},${v.slice(1)}`,
  (v) => `${v.slice(0, -1)},"__proto__":{"roles":["ADMIN"]}}`,
  () => '',
  () => '   ',
  () => 'null',
  () => 'true',
  () => '0',
  () => '"a string"',
  () => '[]',
  () => '[{}]',
  () => '{"a":1,"a":2}',
  () => '{"a":"\\ud800"}',
  () => '{"a":"\\u0000"}',
  () => '{"a":"\\x41"}',
  () => "{'a':1}",
  () => '{"a":01}',
  () => '{"a":.5}',
  () => '{"a":+1}',
  () => '{"a":0x10}',
  () => '{"a":1e400}',
  () => '{"a":-0}',
  () => '{"a" 1}',
  () => '{,}',
  () => '\u0000',
  () => '{"a":"unterminated',
  () => '[1,2,3',
  () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  () => `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
  () => '['.repeat(10_000),
  () => `{"condition":${deepCondition(10_000)}}`,
  () =>
    Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]),
  () => Buffer.from([0xfe, 0xff, 0x00, 0x7b, 0x00, 0x7d]),
  () => `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
  () => `[${'1,'.repeat(100_000)}1]`,
];

export interface BuiltBody {
  body?: string | Buffer;
  tags: string[];
}

function bodyFor(op: Operation, g: GenCtx, oversized: boolean, mutate: boolean): BuiltBody {
  const { rng } = g;
  if (oversized) {
    const size = rng.int(1_048_577, 1_600_000);
    const text = `{"name":"${'A'.repeat(size)}"}`;
    // Declared up front (refused on the header) or streamed chunked (refused while counting).
    return { body: text, tags: ['oversized', ...(rng.chance(0.5) ? ['chunked'] : [])] };
  }
  if (!op.body) {
    // Routes without a body get one now and then.
    if (!mutate || !rng.chance(0.25)) return { tags: [] };
    return {
      body: rng.chance(0.5)
        ? serialize({ a: rng.pick(NOSQL), __proto__x: { admin: true } })
        : rng.pick(['{}', '[]', 'x', '{"reason":"x"}', '{']),
      tags: ['unexpected-body'],
    };
  }
  const valid = validValue(op.body, g) as Record<string, unknown>;
  const validText = serialize(valid);
  const kind = !mutate
    ? 'valid'
    : rng.weighted<string>([
        [12, 'valid'],
        [30, 'field'],
        [7, 'missing'],
        [7, 'extra'],
        [6, 'replace'],
        [12, 'malformed'],
        [3, 'deep'],
        [3, 'huge'],
        [5, 'rawNumber'],
        [2, 'many'],
      ]);
  const locs = locations(valid, op.body, g.root);
  switch (kind) {
    case 'valid':
      return { body: validText, tags: ['valid'] };
    case 'field': {
      if (!locs.length) return { body: serialize(nastyValue(rng, undefined, { huge: true })), tags: ['field:root'] };
      const n = rng.chance(0.8) ? 1 : rng.int(2, 4);
      const tags: string[] = [];
      for (let i = 0; i < n; i++) {
        const loc = rng.pick(locations(valid, op.body, g.root));
        if (!loc) break;
        setAt(valid, loc.path, nastyValue(rng, loc.schema, { huge: true }));
        tags.push(`field:${loc.path.join('.')}`);
      }
      return { body: serialize(valid), tags };
    }
    case 'missing': {
      const keys = Object.keys(valid);
      if (keys.length) delete valid[rng.pick(keys)];
      const nested = locations(valid, op.body, g.root).filter((l) => l.path.length > 1);
      if (nested.length && rng.chance(0.5)) deleteAt(valid, rng.pick(nested).path);
      return { body: serialize(valid), tags: ['missing'] };
    }
    case 'extra': {
      const key = rng.pick([
        '__proto__x',
        'constructor',
        'prototype',
        '$gt',
        '$where',
        'isAdmin',
        'roles',
        'id',
        'userId',
        '',
        ' ',
        '\u0000',
        '🙂',
        'a'.repeat(10_000),
        'toString',
        'hasOwnProperty',
      ]);
      const target = locs.filter(
        (l) => l.schema?.type === 'object' || (l.path.length === 0 && typeof valid === 'object'),
      );
      const where = target.length && rng.chance(0.5) ? rng.pick(target).path : [];
      const value =
        key === 'constructor' ? { prototype: { polluted: true } } : nastyValue(rng, undefined, { huge: false });
      if (where.length) {
        let t: any = valid;
        for (const k of where) t = t[k];
        if (t && typeof t === 'object' && !Array.isArray(t)) t[key] = value;
      } else valid[key] = value;
      return { body: serialize(valid), tags: [`extra:${key.slice(0, 20)}`] };
    }
    case 'replace':
      return { body: serialize(nastyValue(rng, undefined, { huge: false })), tags: ['replace'] };
    case 'malformed': {
      const i = rng.int(0, MALFORMED.length - 1);
      return { body: MALFORMED[i]!(validText, rng), tags: [`malformed#${i}`] };
    }
    case 'deep': {
      const depth = rng.pick([100, 1000, 10_000]);
      const deep = rng.chance(0.5) ? deepCondition(depth) : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
      const loc = locs.length ? rng.pick(locs) : undefined;
      if (loc) setAt(valid, loc.path, new Raw(deep));
      else valid.nested = new Raw(deep);
      return { body: serialize(valid), tags: [`deep:${depth}:${loc?.path.join('.') ?? 'nested'}`] };
    }
    case 'huge': {
      const strings = locs.filter((l) => l.schema?.type === 'string' || typeof l.schema?.type !== 'string');
      const loc = strings.length ? rng.pick(strings) : undefined;
      const size = rng.weighted([
        [4, 100_000],
        [2, 300_000],
        [1, 600_000],
        [1, 900_000],
      ]);
      const value = longString(rng, size);
      if (loc) setAt(valid, loc.path, value);
      else valid.huge = value;
      return { body: serialize(valid), tags: [`huge:${size}:${loc?.path.join('.') ?? 'huge'}`] };
    }
    case 'rawNumber': {
      const nums = locs.filter((l) => l.schema?.type === 'integer' || l.schema?.type === 'number');
      const loc = rng.pick(nums.length ? nums : locs.length ? locs : [{ path: ['n'] as PathKey[] }]);
      setAt(
        valid,
        loc.path,
        new Raw(
          rng.pick([
            '1e308',
            '-0',
            '1e400',
            '-1e400',
            '1e-400',
            '1.0',
            '1.5',
            '-1',
            '0',
            '1E2',
            '123456789012345678901234567890',
            '4.9e-324',
            '1.7976931348623157e308',
          ]),
        ),
      );
      return { body: serialize(valid), tags: [`rawNumber:${loc.path.join('.')}`] };
    }
    default: {
      // Many items: arrays at (or beyond) their limits.
      const arrays = locs.filter((l) => l.schema?.type === 'array');
      if (arrays.length) {
        const loc = rng.pick(arrays);
        const max = loc.schema?.maxItems ?? 10;
        const count = rng.pick([max, max + 1, 5000]);
        const item = validValue(loc.schema?.items ?? {}, g);
        setAt(
          valid,
          loc.path,
          Array.from({ length: count }, (_, i) =>
            item && typeof item === 'object' && 'id' in (item as object)
              ? { ...(item as object), id: `fuzz-many-${rng.int(0, 1e9)}-${i}` }
              : item,
          ),
        );
        return { body: serialize(valid), tags: [`many:${count}:${loc.path.join('.')}`] };
      }
      return { body: validText, tags: ['valid'] };
    }
  }
}

// ---- Paths, queries and headers ------------------------------------------------------------------

const BAD_IDS = [
  'not-a-uuid',
  '123',
  '-1',
  '0',
  'null',
  'undefined',
  '%00',
  'abc%00def',
  '..',
  '..%2F..%2Finternal%2Frevocations',
  '%2e%2e',
  '%2F',
  '%',
  '%E0%A4%A',
  '%FF%FE',
  '%C0%AF',
  '%uD800',
  "'%20OR%201=1--",
  '%27%3B%20drop%20table%20claims%3B--',
  '%F0%9F%99%82',
  '%D8%00',
  '%ED%A0%80',
  '*',
  '~',
  '$',
  ';',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz',
  '123e4567-e89b-12d3-a456-42661417400g',
  '123e4567-e89b-12d3-a456-4266141740000',
  '123E4567-E89B-42D3-A456-426614174000',
  '{id}',
  ':id',
  'a'.repeat(101),
  'a'.repeat(10_000),
];

const EXTRA_PATH_VARIANTS: ReadonlyArray<(p: string) => string> = [
  (p) => `${p}/`,
  (p) => `${p}//`,
  (p) => p.replace('/api/v1/', '/api/v1//'),
  (p) => p.replace('/api/v1/', '/API/V1/'),
  (p) => p.replace('/api/v1/', '/api/v1/./'),
  (p) => p.replace('/api/v1/', '/api/v1/x/../'),
  (p) => p.replace('/api/v1/', '/api/v2/'),
  (p) => p.replace('/api/v1', ''),
  (p) => `${p}/../../internal/revocations`,
  (p) => `${p}%2F..%2F..%2Finternal%2Frevocations`,
  (p) => `${p};jsessionid=1`,
  (p) => `${p}%00`,
  (p) => `${p}#fragment`,
  (p) => `${p}.json`,
  (p) => p.toUpperCase(),
  (p) => `http://127.0.0.1${p}`,
  (p) => `${p}/${'x/'.repeat(2000)}`,
];

function idFor(op: Operation, g: GenCtx, mutate: boolean): { id: string; tag: string } {
  const { rng, fx } = g;
  const kind = !mutate
    ? 'real'
    : rng.weighted<string>([
        [35, 'real'],
        [15, 'random'],
        [10, 'otherKind'],
        [40, 'bad'],
      ]);
  if (kind === 'random') return { id: randomUuid(rng), tag: 'id:random' };
  if (kind === 'bad') return { id: rng.pick(BAD_IDS), tag: 'id:bad' };
  const events = [fx.events.main, fx.events.manual, fx.events.mutable];
  const claims = [...fx.claims.approved, ...fx.claims.pending];
  // Role changes only ever target the victim: changing the token holders' roles would change what the run covers.
  if (kind === 'otherKind') return { id: rng.pick([...events, ...claims, ...fx.rewardIds]), tag: 'id:otherKind' };
  const recent = (ids: string[]) =>
    ids[ids.length - 1 - Math.min(ids.length - 1, Math.floor(rng.next() * rng.next() * ids.length))]!;
  if (op.path.startsWith('/api/v1/users/')) {
    return fx.created.users.length && rng.chance(0.6)
      ? { id: recent(fx.created.users), tag: 'id:created' }
      : { id: fx.userIds.VICTIM, tag: 'id:real' };
  }
  if (op.path.startsWith('/api/v1/claims/')) {
    if ((op.path.endsWith('approve') || op.path.endsWith('reject')) && rng.chance(0.7)) {
      if (fx.created.pending.length && rng.chance(0.8)) return { id: recent(fx.created.pending), tag: 'id:created' };
      return { id: rng.pick(fx.claims.pending), tag: 'id:real' };
    }
    return fx.created.pending.length && rng.chance(0.3)
      ? { id: recent(fx.created.pending), tag: 'id:created' }
      : { id: rng.pick(claims), tag: 'id:real' };
  }
  if (op.operationId === 'updateEvent' || op.operationId === 'createReward') {
    if (fx.created.events.length && rng.chance(0.6)) return { id: recent(fx.created.events), tag: 'id:created' };
    return { id: rng.chance(0.7) ? fx.events.mutable : rng.pick(events), tag: 'id:real' };
  }
  if (fx.created.events.length && rng.chance(0.2)) return { id: recent(fx.created.events), tag: 'id:created' };
  return { id: rng.pick(events), tag: 'id:real' };
}

/** Percent-encodes like encodeURIComponent, but lone surrogates become their (invalid) UTF-8 bytes instead of throwing. */
export function percentEncode(s: string): string {
  return s.replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|[\s\S]/g, (c) => {
    if (c.length === 1 && c >= '\ud800' && c <= '\udfff') {
      const cp = c.charCodeAt(0);
      return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    }
    return encodeURIComponent(c);
  });
}

/** Keeps a path sendable (node refuses spaces and control characters in a request target). */
function sendablePath(p: string): string {
  return p.replace(/[\ud800-\udbff][\udc00-\udfff]|[^\u0021-\u00ff]/g, (c) => percentEncode(c));
}

function queryFor(op: Operation, g: GenCtx, tags: string[], mutate: boolean): string {
  const { rng, fx } = g;
  const parts: string[] = [];
  const enc = (v: unknown) =>
    !mutate || rng.chance(0.85)
      ? percentEncode(String(v))
      : sendablePath(String(v)).replace(/[#&]/g, (c) => percentEncode(c));
  for (const q of op.query) {
    if (!rng.chance(0.45)) continue;
    let value: unknown;
    if (!mutate || rng.chance(0.4)) {
      if (q.name === 'cursor') value = Buffer.from(JSON.stringify([iso(g.now), randomUuid(rng)])).toString('base64url');
      else if (q.name === 'eventId') value = rng.pick([fx.events.main, fx.events.manual]);
      else if (q.name === 'userId') value = rng.pick([fx.userIds.USER, fx.userIds.VICTIM]);
      else if (q.name === 'actorId') value = rng.pick([fx.userIds.OPERATOR, fx.userIds.ADMIN, 'system']);
      else if (q.name === 'action') value = rng.pick(['event.create', 'claim.approve', 'user.roles.set']);
      else if (q.name === 'email') value = rng.pick(['example', 'fuzz', '%', '_']);
      else value = validValue(q.schema, { ...g }, q.name === 'from' || q.name === 'to' ? undefined : q.name);
    } else {
      value = rng.pick<unknown>([
        ...(q.name === 'limit'
          ? ['-1', '0', '101', '1e9', '1e2', '1.5', 'NaN', 'Infinity', '', ' 5', '0x10', '9'.repeat(400), '20abc']
          : []),
        ...(q.name === 'cursor'
          ? [
              'garbage',
              '',
              'a'.repeat(513),
              Buffer.from('[1,2]').toString('base64url'),
              Buffer.from('null').toString('base64url'),
              Buffer.from('{"c":"2024-01-01T00:00:00Z","i":"------------------------------------"}').toString(
                'base64url',
              ),
              Buffer.from('["-271821-04-20T00:00:00.000Z","00000000-0000-0000-0000-000000000000"]').toString(
                'base64url',
              ),
              Buffer.from('["+275760-09-13T00:00:00.000Z","------------------------------------"]').toString(
                'base64url',
              ),
              Buffer.from('[8640000000000000,"ffffffff-ffff-ffff-ffff-ffffffffffff"]').toString('base64url'),
              Buffer.from('["2024-01-01T00:00:00Z","123e4567-e89b-12d3-a456-426614174000",{"$gt":""}]').toString(
                'base64url',
              ),
            ]
          : []),
        ...(q.name === 'status' || q.name === 'role' ? ['xyz', 'active', 'ACTIVE ', 'PENDING,APPROVED', '*'] : []),
        ...(q.name === 'from' || q.name === 'to'
          ? [
              'not-a-date',
              '2024-13-01T00:00:00Z',
              '0000-01-01T00:00:00Z',
              '9999-12-31T23:59:59Z',
              '-271821-04-20T00:00:00Z',
            ]
          : []),
        ...UUID_LIKE,
        ...INJECTIONS,
        ...UNICODE,
        'x'.repeat(rng.pick([255, 1000, 5000])),
      ]);
    }
    parts.push(`${q.name}=${enc(value)}`);
    if (mutate && rng.chance(0.05)) parts.push(`${q.name}=${enc(value)}`);
  }
  if (mutate && rng.chance(op.query.length ? 0.2 : 0.6)) {
    parts.push(
      rng.pick([
        'unknown=1',
        'limit[]=1',
        'limit[$gt]=0',
        '__proto__[admin]=1',
        'constructor[prototype][admin]=1',
        '%00=%00',
        '=',
        '&&&',
        'a=%',
        'a=%E0%A4%A',
        'status=xyz',
        'limit=-1',
        'limit=1e9',
        'cursor=garbage',
        'from=not-a-date',
        `x=${'y'.repeat(8000)}`,
        'a=1;b=2',
        'q=%27%20OR%201%3D1--',
      ]),
    );
    tags.push('query:extra');
  }
  return parts.length ? `?${rng.shuffle(parts).join('&')}` : '';
}

function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}

function forgedToken(rng: Rng, fx: Fixture, g: GenCtx): string {
  const real = fx.tokens[rng.pick(['ADMIN', 'USER', 'OPERATOR', 'AUDITOR'] as const)];
  const [h, p, sig] = real.split('.');
  const nowS = Math.floor(g.now / 1000);
  const claims = {
    sub: fx.userIds.ADMIN,
    sid: randomUuid(rng),
    roles: ['ADMIN'],
    iss: 'reward-platform/auth',
    aud: 'reward-platform',
  };
  switch (rng.int(0, 9)) {
    case 0: // alg none
      return `${b64url(JSON.stringify({ alg: 'none', kid: fx.kid, typ: 'JWT' }))}.${b64url(JSON.stringify({ ...claims, exp: nowS + 600 }))}.`;
    case 1: // expired-looking, real key id, junk signature
      return `${h}.${b64url(JSON.stringify({ ...claims, iat: nowS - 7200, exp: nowS - 3600 }))}.${sig}`;
    case 2: // payload swapped, signature kept
      return `${h}.${b64url(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), roles: ['ADMIN'] }))}.${sig}`;
    case 3: // HS256 with the public key id (algorithm confusion)
      return `${b64url(JSON.stringify({ alg: 'HS256', kid: fx.kid, typ: 'JWT' }))}.${b64url(JSON.stringify({ ...claims, exp: nowS + 600 }))}.${b64url('sig')}`;
    case 4: // unknown key id
      return `${b64url(JSON.stringify({ alg: 'ES256', kid: randomUuid(rng) }))}.${p}.${sig}`;
    case 5: // odd key ids
      return `${b64url(JSON.stringify({ alg: 'ES256', kid: rng.pick(['../../etc/passwd', '', 'x'.repeat(2000), '\u0000', { $gt: '' }, 123, null]) }))}.${p}.${sig}`;
    case 6: // header that is not JSON
      return `${b64url('not json')}.${p}.${sig}`;
    case 7: // truncated signature
      return `${h}.${p}.${sig!.slice(0, 10)}`;
    case 8: // api-key kind token forged
      return `${h}.${b64url(JSON.stringify({ kind: 'api-key', scope: 'activities:write', sub: randomUuid(rng), exp: nowS + 600 }))}.${sig}`;
    default: // four parts
      return `${real}.${sig}`;
  }
}

type AuthChoice = { header?: string; tag: string };

function authFor(op: Operation, g: GenCtx, mutate: boolean): AuthChoice {
  const { rng, fx } = g;
  // Logging out ends a session: only the victim's (renewed by the runner) is ever ended.
  const destructive = op.operationId === 'logout';
  if (!mutate) {
    if (!op.secured) return { tag: 'auth:public' };
    if (destructive) return { header: `Bearer ${fx.tokens.VICTIM}`, tag: 'auth:VICTIM' };
    const role = rng.pick((op.roles ?? ['ADMIN', 'OPERATOR', 'USER', 'AUDITOR']) as RoleName[]);
    return { header: `Bearer ${fx.tokens[role]}`, tag: `auth:${role}` };
  }
  const roleWeight = destructive ? 0 : 14;
  return rng.weighted<() => AuthChoice>([
    [roleWeight, () => ({ header: `Bearer ${fx.tokens.ADMIN}`, tag: 'auth:ADMIN' })],
    [roleWeight, () => ({ header: `Bearer ${fx.tokens.OPERATOR}`, tag: 'auth:OPERATOR' })],
    [roleWeight, () => ({ header: `Bearer ${fx.tokens.USER}`, tag: 'auth:USER' })],
    [roleWeight, () => ({ header: `Bearer ${fx.tokens.AUDITOR}`, tag: 'auth:AUDITOR' })],
    [destructive ? 50 : 3, () => ({ header: `Bearer ${fx.tokens.VICTIM}`, tag: 'auth:VICTIM' })],
    [8, () => ({ tag: 'auth:none' })],
    [3, () => ({ header: `bearer ${fx.tokens.USER}`, tag: 'auth:lowercase' })],
    [2, () => ({ header: `Bearer  ${fx.tokens.USER}`, tag: 'auth:double-space' })],
    [2, () => ({ header: fx.tokens.USER, tag: 'auth:no-scheme' })],
    [2, () => ({ header: `Basic ${b64url('admin@example.com:password')}`, tag: 'auth:basic' })],
    [
      2,
      () => ({
        header: rng.pick([
          'Bearer',
          'Bearer ',
          'Bearer null',
          'Bearer undefined',
          'Bearer a.b.c',
          'Bearer ...',
          'Token x',
          '',
        ]),
        tag: 'auth:junk',
      }),
    ],
    [
      4,
      () => ({ header: `Bearer ${randomText(rng, 60).replace(/[^\t\x20-\x7e\x80-\xff]/g, '')}`, tag: 'auth:random' }),
    ],
    [2, () => ({ header: `Bearer ${'A'.repeat(rng.pick([4096, 4097, 12_000]))}`, tag: 'auth:long' })],
    [12, () => ({ header: `Bearer ${forgedToken(rng, fx, g)}`, tag: 'auth:forged' })],
  ])();
}

const CONTENT_TYPES: ReadonlyArray<readonly [number, string | undefined]> = [
  [70, 'application/json'],
  [4, 'application/json; charset=utf-8'],
  [2, 'application/json; charset=latin1'],
  [2, 'APPLICATION/JSON'],
  [2, 'application/json;;;'],
  [2, 'application/vnd.api+json'],
  [2, 'application/merge-patch+json'],
  [3, 'text/plain'],
  [1, 'text/plain; charset=utf-8'],
  [3, 'multipart/form-data; boundary=fuzz'],
  [2, 'application/x-www-form-urlencoded'],
  [1, 'application/xml'],
  [1, '*/*'],
  [1, ''],
  [1, 'application/json, text/plain'],
  [1, 'application/jsonx'],
  [1, 'application/json; boundary=x; charset=utf-16'],
  [4, undefined],
];

export interface FuzzRequest {
  index: number;
  /** The operation this request counts for; undefined when the method was swapped. */
  operationId?: string;
  target: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  tags: string[];
}

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND'];
const HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/g;

/** Request `index` of a run: operation `op` with mutations picked by the request's own PRNG. */
export function buildRequest(
  op: Operation,
  fx: Fixture,
  seed: number,
  index: number,
  opts: { oversized: boolean; now?: number },
): FuzzRequest {
  const rng = mulberry32(requestSeed(seed, index));
  const g: GenCtx = { rng, root: op.body ?? {}, fx, op, now: opts.now ?? Date.now(), depth: 0 };
  // Most requests change one aspect of an otherwise valid request, so each mutation reaches the code
  // behind the others; 'clean' ones are fully valid and 'chaos' ones change everything at once.
  const focus = opts.oversized
    ? 'body'
    : rng.weighted<string>([
        [15, 'clean'],
        [27, 'body'],
        [10, 'auth'],
        [10, 'path'],
        [8, 'query'],
        [10, 'headers'],
        [20, 'chaos'],
      ]);
  const mutates = (aspect: string) => focus === 'chaos' || focus === aspect;
  const tags: string[] = [`focus:${focus}`];
  const swapped = mutates('path') && rng.chance(0.08);
  const method = swapped ? rng.pick(OTHER_METHODS.filter((m) => m !== op.method)) : op.method;
  if (swapped) tags.push(`method:${method}`);

  let path = op.path;
  for (const name of op.pathParams) {
    const { id, tag } = idFor(op, g, mutates('path'));
    tags.push(tag);
    path = path.replace(`{${name}}`, id);
  }
  if (mutates('path') && rng.chance(op.pathParams.length ? 0.12 : 0.5)) {
    const i = rng.int(0, EXTRA_PATH_VARIANTS.length - 1);
    path = EXTRA_PATH_VARIANTS[i]!(path);
    tags.push(`path#${i}`);
  }
  path = sendablePath(path) + queryFor(op, g, tags, mutates('query'));

  const headers: Record<string, string> = {};
  const auth =
    op.secured || (mutates('auth') && rng.chance(0.3)) ? authFor(op, g, mutates('auth')) : { tag: 'auth:public' };
  tags.push(auth.tag);
  if (auth.header !== undefined) headers.authorization = auth.header;

  const built = bodyFor(op, g, opts.oversized, mutates('body'));
  tags.push(...built.tags);
  if (built.body !== undefined) {
    const ct = mutates('headers') ? rng.weighted(CONTENT_TYPES) : 'application/json';
    if (ct !== undefined) headers['content-type'] = ct;
    if (ct !== 'application/json') tags.push(`ct:${ct ?? 'none'}`);
    if (ct?.startsWith('multipart/') && rng.chance(0.5)) {
      built.body = `--fuzz\r\nContent-Disposition: form-data; name="file"; filename="../../x.json"\r\nContent-Type: application/json\r\n\r\n${typeof built.body === 'string' ? built.body.slice(0, 2000) : ''}\r\n--fuzz--\r\n`;
    }
  } else if (mutates('headers') && rng.chance(0.2)) {
    headers['content-type'] = rng.pick(['application/json', 'text/plain', 'multipart/form-data']);
    tags.push('ct:no-body');
  }

  if (op.apiKey && rng.chance(0.3)) {
    delete headers.authorization;
    headers['x-api-key'] = !mutates('auth')
      ? fx.apiKey
      : rng.weighted<string>([
          [3, fx.apiKey],
          [1, `${fx.apiKey}x`],
          [1, 'rk_garbage'],
          [1, ''],
          [1, 'x'.repeat(10_000)],
          [1, "' OR 1=1--"],
          [1, 'rk_\xff\xfe'],
        ]);
    tags.push('apiKey');
  } else if (mutates('auth') && rng.chance(0.1)) {
    headers['x-api-key'] = rng.pick([fx.apiKey, 'garbage']);
    tags.push('apiKey:elsewhere');
  }

  const isClaim = op.operationId === 'createClaim';
  if (isClaim && !mutates('headers') && rng.chance(0.5)) {
    headers['idempotency-key'] = `fuzz-${rng.int(0, 50)}`;
    tags.push('idem:valid');
  } else if (mutates('headers') && (isClaim ? rng.chance(0.7) : rng.chance(0.1))) {
    headers['idempotency-key'] = rng.weighted<string>([
      [8, `fuzz-${rng.int(0, 50)}`],
      [3, `fuzz-${rng.int(0, 1e9)}`],
      [1, ''],
      [1, 'a\tb'],
      [1, '\t'],
      [1, ' spaced '],
      [1, 'x'.repeat(129)],
      [1, 'x'.repeat(128)],
      [1, 'x'.repeat(10_000)],
      [1, 'latin1-\xe9\xff'],
      [1, "'; drop table claims;--"],
      [1, '%00'],
    ]);
    tags.push('idem');
  }
  if (mutates('headers') ? rng.chance(0.4) : rng.chance(0.05)) {
    headers['x-request-id'] = rng.pick([
      `fuzz-${index}`,
      'a'.repeat(129),
      'a'.repeat(5000),
      '',
      ' ',
      '../../x',
      "'; drop table audit_log;--",
      'id with spaces',
      '\xe9\xe8',
      '<script>',
      '%00',
      'ok.id:1-2_3',
    ]);
    tags.push('reqid');
  }
  if (mutates('headers') && rng.chance(0.4)) {
    const [name, value] = rng.pick<[string, string]>([
      ['accept', rng.pick(['text/html', 'application/xml', '*/*', '', 'application/json;q=0'])],
      ['accept-encoding', rng.pick(['gzip', 'br', 'identity;q=0', 'x'])],
      ['x-forwarded-for', rng.pick(['1.2.3.4', 'garbage', '::1, 10.0.0.1', "' OR 1=1--", ''])],
      ['x-internal-secret', rng.pick(['guess', '', 'x'.repeat(64)])],
      ['user-agent', rng.pick(['', 'x'.repeat(8000), 'sqlmap/1.0', '() { :; }; echo pwned'])],
      ['x-http-method-override', 'DELETE'],
      ['origin', 'http://evil.example'],
      ['cookie', 'session=__proto__'],
      ['range', 'bytes=0-1'],
      ['expect', '100-continue'],
      ['content-encoding', rng.pick(['gzip', 'deflate', 'br', 'x'])],
      ['transfer-encoding-x', 'chunked'],
      ['x-fuzz', 'x'.repeat(rng.pick([100, 9000]))],
    ]);
    headers[name] = value;
    tags.push(`header:${name}`);
  }
  // A few go out over a plain socket, with bytes an HTTP client refuses to send: control characters in header values.
  const raw = mutates('headers') && rng.chance(0.12) && !opts.oversized;
  if (raw) {
    const name = rng.pick(['idempotency-key', 'x-request-id', 'authorization', 'x-fuzz']);
    headers[name] = `${headers[name] ?? 'x'}${rng.pick(['\x01', '\x7f', '\x00', '\x1b[31m', 'a\rb', '\x0b', '\x08'])}`;
    tags.push('raw', `ctl:${name}`);
  } else {
    for (const [k, v] of Object.entries(headers)) headers[k] = v.replace(HEADER_VALUE, '?');
  }
  return {
    index,
    operationId: swapped ? undefined : op.operationId,
    target: `${op.method} ${op.path}`,
    method,
    path,
    headers,
    body: built.body,
    tags,
  };
}
