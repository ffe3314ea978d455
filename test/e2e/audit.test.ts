import { randomBytes, randomUUID } from 'node:crypto';
import type { AuditEntry } from '@rewards/contracts';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  adminAccount,
  createAccount,
  createApiKey,
  errorBody,
  postActivities,
  validationError,
  walk,
  DAY_MS,
  type Account,
} from '../support/fixtures.js';
import { UUID } from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

const OUTBOX_WAIT = { timeout: 5000, interval: 100 };
const HASH = expect.stringMatching(/^[0-9a-f]{64}$/);

type Query = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

describe('audit log', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  let players: Account[];
  let apiKey: string;
  /** The entries written by the actions of the first test, by name. */
  const entries: Record<string, AuditEntry> = {};

  const everything = async () =>
    (
      await walk(
        (cursor) => stack.client.call('auditLog', { token: auditor.token, query: { limit: 100, cursor } }),
        100,
      )
    ).items;
  const list = async (query: Record<string, string | number>) => {
    const res = await stack.client.call('auditLog', { token: auditor.token, query: { limit: 100, ...query } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return res.body.items;
  };
  const byRequestId = async (requestId: string) => (await everything()).filter((e) => e.requestId === requestId);
  const rid = (name: string) => ({ 'x-request-id': `audit-${name}-${randomBytes(4).toString('hex')}` });

  /** Direct access to the event service's database, as an intruder would have it. */
  async function withEventDatabase<T>(fn: (query: Query) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: stack.databaseUrls.event });
    await client.connect();
    try {
      return await fn(async (text, params) => (await client.query(text, params)).rows);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    stack = await startStack();
    admin = await adminAccount(stack);
    [operator, auditor, ...players] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
      createAccount(stack, admin.token),
      createAccount(stack, admin.token),
    ]);
    apiKey = (await createApiKey(stack, admin.token, 'setup-key')).key;
    // Two role changes and one key so far, all delivered through auth's outbox.
    await vi.waitFor(async () => expect(await everything()).toHaveLength(3), OUTBOX_WAIT);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('records staff actions with actor, target, before/after and the request id the gateway gave the call', async () => {
    const started = Date.now();
    const [p1, p2] = players as [Account, Account];
    const headers = {
      create: rid('event-create'),
      update: rid('event-update'),
      reward: rid('reward-create'),
      approve: rid('claim-approve'),
      reject: rid('claim-reject'),
      ingest: rid('activities'),
      ingestByKey: rid('activities-key'),
      roles: rid('roles'),
      apiKey: rid('api-key'),
    };
    const created = await stack.client.call('createEvent', {
      token: operator.token,
      headers: headers.create,
      body: {
        title: 'Audited',
        startsAt: new Date(started - DAY_MS).toISOString(),
        endsAt: new Date(started + DAY_MS).toISOString(),
        status: 'ACTIVE',
        approval: 'MANUAL',
        condition: { type: 'LOGIN_DAYS', days: 1 },
      },
    });
    expect(created.status).toBe(201);
    // The caller's own x-request-id is never taken over: the gateway makes one (and logs the caller's beside it).
    expect(created.headers.get('x-request-id')).toMatch(UUID);
    const event = created.body.event;
    const updated = await stack.client.call('updateEvent', {
      token: operator.token,
      headers: headers.update,
      params: { id: event.id },
      body: { title: 'Audited event', description: 'now with a description' },
    });
    expect(updated.status).toBe(200);
    const reward = await stack.client.call('createReward', {
      token: operator.token,
      headers: headers.reward,
      params: { id: event.id },
      body: { type: 'ITEM', name: 'Badge', quantity: 1, stock: 2 },
    });
    expect(reward.status).toBe(201);
    // Players' own claims are not staff actions and are not audited.
    await postActivities(
      stack,
      apiKey,
      [p1, p2].map((p) => ({ userId: p.id, type: 'LOGIN', occurredAt: new Date().toISOString() })),
    );
    const c1 = (await stack.client.call('createClaim', { token: p1.token, params: { id: event.id } })).body.claim;
    const c2 = (await stack.client.call('createClaim', { token: p2.token, params: { id: event.id } })).body.claim;
    expect([c1.status, c2.status]).toEqual(['PENDING', 'PENDING']);
    const approved = await stack.client.call('approveClaim', {
      token: operator.token,
      headers: headers.approve,
      params: { id: c1.id },
    });
    expect(approved.status).toBe(200);
    const rejected = await stack.client.call('rejectClaim', {
      token: operator.token,
      headers: headers.reject,
      params: { id: c2.id },
      body: { reason: 'Bot account' },
    });
    expect(rejected.status).toBe(200);
    const [a, b] = [randomUUID(), randomUUID()];
    const ids = [a, b, a];
    const activities = ids.map((id) => ({
      id,
      userId: p1.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    }));
    const ingested = await stack.client.call('ingestActivities', {
      token: admin.token,
      headers: headers.ingest,
      body: { activities },
    });
    expect(ingested.body).toEqual({ accepted: 2, duplicates: 1 });
    const byKey = await stack.client.call('ingestActivities', {
      apiKey,
      headers: headers.ingestByKey,
      body: { activities },
    });
    expect(byKey.body).toEqual({ accepted: 2, duplicates: 1 });
    const roles = await stack.client.call('setRoles', {
      token: admin.token,
      headers: headers.roles,
      params: { id: p2.id },
      body: { roles: ['USER', 'AUDITOR'] },
    });
    expect(roles.status).toBe(200);
    const key = await stack.client.call('createApiKey', {
      token: admin.token,
      headers: headers.apiKey,
      body: { name: 'quest-server' },
    });
    expect(key.status).toBe(201);
    const responses = {
      create: created,
      update: updated,
      reward,
      approve: approved,
      reject: rejected,
      ingest: ingested,
      ingestByKey: byKey,
      roles,
      apiKey: key,
    };
    const requestIds = Object.fromEntries(
      Object.entries(responses).map(([name, res]) => [name, res.headers.get('x-request-id')!]),
    ) as Record<keyof typeof headers, string>;
    for (const name of Object.keys(headers) as (keyof typeof headers)[]) {
      expect(requestIds[name], name).toMatch(UUID);
      expect(requestIds[name], name).not.toBe(headers[name]['x-request-id']);
    }

    const { rewards: _rewards, ...eventBefore } = event;
    const { rewards: _rewardsAfter, ...eventAfter } = updated.body.event;
    const expected = {
      create: {
        actorId: operator.id,
        action: 'event.create',
        targetType: 'event',
        targetId: event.id,
        before: null,
        after: event,
      },
      update: {
        actorId: operator.id,
        action: 'event.update',
        targetType: 'event',
        targetId: event.id,
        before: eventBefore,
        after: eventAfter,
      },
      reward: {
        actorId: operator.id,
        action: 'reward.create',
        targetType: 'reward',
        targetId: reward.body.reward.id,
        before: null,
        after: reward.body.reward,
      },
      approve: {
        actorId: operator.id,
        action: 'claim.approve',
        targetType: 'claim',
        targetId: c1.id,
        before: c1,
        after: approved.body.claim,
      },
      reject: {
        actorId: operator.id,
        action: 'claim.reject',
        targetType: 'claim',
        targetId: c2.id,
        before: c2,
        after: rejected.body.claim,
      },
      ingest: {
        actorId: admin.id,
        action: 'activities.ingest',
        targetType: 'activities',
        targetId: null,
        before: null,
        after: { accepted: 2, duplicates: 1, count: 3, ids },
      },
      roles: {
        actorId: admin.id,
        action: 'user.roles.set',
        targetType: 'user',
        targetId: p2.id,
        before: { roles: ['USER'] },
        after: { roles: ['USER', 'AUDITOR'] },
      },
      apiKey: {
        actorId: admin.id,
        action: 'api-key.create',
        targetType: 'api-key',
        targetId: key.body.id,
        before: null,
        after: {
          id: key.body.id,
          name: 'quest-server',
          scopes: ['activities:write'],
          expiresAt: null,
          revokedAt: null,
        },
      },
    } as const;
    for (const [name, fields] of Object.entries(expected) as [
      keyof typeof expected,
      (typeof expected)[keyof typeof expected],
    ][]) {
      const requestId = requestIds[name];
      // Auth's entries arrive through its outbox, a moment after the call returned.
      await vi.waitFor(async () => expect(await byRequestId(requestId)).toHaveLength(1), OUTBOX_WAIT);
      const [entry] = await byRequestId(requestId);
      expect(entry, name).toEqual({ id: expect.any(String), ...fields, requestId, at: expect.any(String), hash: HASH });
      const at = Date.parse(entry!.at);
      expect(at).toBeGreaterThanOrEqual(started - 1000);
      expect(at).toBeLessThanOrEqual(Date.now());
      entries[name] = entry!;
    }
    expect(await byRequestId(requestIds.ingestByKey)).toEqual([]);
    // No entry carries a request id the caller chose.
    const sent = new Set(Object.values(headers).map((h) => h['x-request-id']));
    expect((await everything()).filter((e) => sent.has(e.requestId ?? ''))).toEqual([]);
    const all = await everything();
    expect(all.filter((e) => e.targetId === c1.id).map((e) => e.action)).toEqual(['claim.approve']);
    expect(all).toHaveLength(3 + 8);
  });

  it('filters by actor, action and time; pages with limit=2', async () => {
    const newestFirst = (list: AuditEntry[]) => {
      const times = list.map((e) => Date.parse(e.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      return list;
    };
    const byOperator = newestFirst(await list({ actorId: operator.id }));
    expect(byOperator.map((e) => e.id).sort()).toEqual(
      ['create', 'update', 'reward', 'approve', 'reject'].map((n) => entries[n]!.id).sort(),
    );
    expect(await list({ action: 'claim.reject' })).toEqual([entries.reject]);
    const roleChanges = newestFirst(await list({ action: 'user.roles.set' }));
    expect(roleChanges[0]).toEqual(entries.roles);
    expect(roleChanges.slice(1).map((e) => e.after)).toEqual(
      expect.arrayContaining([{ roles: ['AUDITOR'] }, { roles: ['OPERATOR'] }]),
    );
    expect(roleChanges).toHaveLength(3);
    expect((await list({ action: 'api-key.create', actorId: admin.id })).map((e) => e.after)).toEqual([
      {
        id: entries.apiKey!.targetId,
        name: 'quest-server',
        scopes: ['activities:write'],
        expiresAt: null,
        revokedAt: null,
      },
      { id: expect.any(String), name: 'setup-key', scopes: ['activities:write'], expiresAt: null, revokedAt: null },
    ]);
    expect(await list({ actorId: auditor.id })).toEqual([]);
    expect(await list({ action: 'claim.create' })).toEqual([]);

    const window = newestFirst(await list({ from: entries.approve!.at, to: entries.ingest!.at }));
    expect(window).toEqual([entries.ingest, entries.reject, entries.approve]);
    expect(await list({ from: entries.apiKey!.at, actorId: admin.id })).toEqual([entries.apiKey]);
    expect(await list({ to: entries.create!.at, actorId: operator.id })).toEqual([entries.create]);

    const all = await everything();
    const paged = await walk(
      (cursor) => stack.client.call('auditLog', { token: admin.token, query: { limit: 2, cursor } }),
      2,
    );
    expect(paged.items).toEqual(newestFirst(all));
    expect(new Set(paged.items.map((e) => e.id)).size).toBe(all.length);
  });

  it('is for AUDITOR and ADMIN only; bad filters are 400', async () => {
    const [player] = players;
    for (const route of ['auditLog', 'verifyAuditLog'] as const) {
      for (const who of [operator, player!]) {
        const res = await stack.client.call(route, { token: who.token });
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: AUDITOR, ADMIN'));
      }
      const anonymous = await stack.client.call(route, {});
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual(errorBody('UNAUTHENTICATED'));
      const byKey = await stack.client.call(route, { apiKey });
      expect(byKey.status).toBe(403);
      expect(byKey.body).toEqual(errorBody('FORBIDDEN', 'API keys are not accepted on this route'));
      expect((await stack.client.call(route, { token: admin.token })).status).toBe(200);
    }
    const cases: [Record<string, string>, unknown][] = [
      [{ from: 'last week' }, [{ path: 'from', code: 'invalid_format', message: 'Invalid ISO datetime' }]],
      [{ actor: operator.id }, [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "actor"' }]],
      [
        { actorId: 'x\u0000' },
        [{ path: 'actorId', code: 'invalid_format', message: 'must not contain the NUL character' }],
      ],
      [
        { action: 'event.update\u0000' },
        [{ path: 'action', code: 'invalid_format', message: 'must not contain the NUL character' }],
      ],
    ];
    for (const [query, details] of cases) {
      const res = await stack.client.call('auditLog', { token: auditor.token, query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body).toEqual(validationError(details));
    }
  });

  it('the chain verifies; an entry edited or removed in the database breaks it there', async () => {
    const total = (await everything()).length;
    const intact = await stack.client.call('verifyAuditLog', { token: auditor.token });
    expect(intact.status).toBe(200);
    expect(intact.body).toEqual({ valid: true, entries: total, firstBrokenId: null });

    const target = entries.update!;
    const { position, original } = await withEventDatabase(async (query) => {
      const [row] = await query('select seq, after::text as after from audit_log where id = $1', [target.id]);
      const [count] = await query('select count(*)::int as n from audit_log where seq <= $1', [row!.seq]);
      const changed = await query(`update audit_log set after = '{"tampered":true}' where id = $1 returning id`, [
        target.id,
      ]);
      expect(changed).toHaveLength(1);
      return { position: count!.n as number, original: row!.after as string };
    });
    expect(position).toBeGreaterThan(3);
    const edited = await stack.client.call('verifyAuditLog', { token: admin.token });
    expect(edited.status).toBe(200);
    expect(edited.body).toEqual({ valid: false, entries: position, firstBrokenId: target.id });
    const shown = (await list({ action: 'event.update' }))[0]!;
    expect(shown).toEqual({ ...target, after: { tampered: true } });

    // Putting the entry back restores the chain; removing one breaks it at the entry that followed.
    const next = await withEventDatabase(async (query) => {
      await query('update audit_log set after = $2::jsonb where id = $1', [target.id, original]);
      const [removed] = await query('delete from audit_log where id = $1 returning seq', [entries.approve!.id]);
      const [following] = await query('select id from audit_log where seq > $1 order by seq limit 1', [removed!.seq]);
      const [count] = await query(
        'select count(*)::int as n from audit_log where seq <= (select seq from audit_log where id = $1)',
        [following!.id],
      );
      return { id: following!.id as string, position: count!.n as number };
    });
    expect(next.id).toBe(entries.reject!.id);
    const removed = await stack.client.call('verifyAuditLog', { token: auditor.token });
    expect(removed.body).toEqual({ valid: false, entries: next.position, firstBrokenId: entries.reject!.id });
  });
});
