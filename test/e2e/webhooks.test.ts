import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Claim, WebhookDelivery, WebhookMessageType } from '@rewards/contracts';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withServiceDb } from '../support/db.js';
import { expectError, expectValidationError, logsText, Secrets, sleep, UUID } from '../support/expect-api.js';
import {
  adminAccount,
  createAccount,
  createAccounts,
  createApiKey,
  createEvent,
  createReward,
  postActivities,
  type Account,
} from '../support/fixtures.js';
import { freePort, startStack, waitFor, type Stack } from '../support/stack.js';

const READY = { type: 'ACTIVITY_COUNT', activity: 'READY', count: 1 } as const;
const CLAIM_TYPES: WebhookMessageType[] = ['claim.approved', 'claim.pending', 'claim.rejected'];

interface Received {
  path: string;
  id: string;
  timestamp: number;
  signatures: string[];
  body: string;
  /** The parsed message, checked field by field. */
  json: any;
  at: number;
}

/**
 * A game server's webhook endpoint: a real HTTP server on 127.0.0.1. Every message it receives is
 * verified with the official Standard Webhooks library under each secret its path is known to sign
 * with; a message that does not verify is a problem, reported by every test.
 */
class Receiver {
  readonly received: Received[] = [];
  readonly problems: string[] = [];
  /** Per path: the secrets every message must verify under. */
  readonly secrets = new Map<string, string[]>();
  /** Per path: the status to answer (default 200), and how long to wait before answering. */
  readonly answer = new Map<string, (m: Received, attempt: number) => number>();
  readonly delayMs = new Map<string, number>();
  /** Per path: requests being answered now, and the most there ever were at once. */
  readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const key = req.url ?? '/';
      const now = (this.inFlight.get(key) ?? 0) + 1;
      this.inFlight.set(key, now);
      this.maxInFlight.set(key, Math.max(now, this.maxInFlight.get(key) ?? 0));
      res.on('close', () => this.inFlight.set(key, this.inFlight.get(key)! - 1));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        const m = this.record(path, req.headers, body);
        const attempt = this.received.filter((r) => r.id === m.id).length;
        const status = this.answer.get(path)?.(m, attempt) ?? 200;
        setTimeout(
          () => res.writeHead(status, { 'content-type': 'text/plain' }).end(`answer ${status}`),
          this.delayMs.get(path) ?? 0,
        );
      });
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private record(path: string, headers: IncomingHttpHeaders, body: string): Received {
    const one = (name: string) => String(headers[name] ?? '');
    const m: Received = {
      path,
      id: one('webhook-id'),
      timestamp: Number(one('webhook-timestamp')),
      signatures: one('webhook-signature').split(' '),
      body,
      json: undefined,
      at: Date.now(),
    };
    const plain = {
      'webhook-id': m.id,
      'webhook-timestamp': one('webhook-timestamp'),
      'webhook-signature': one('webhook-signature'),
    };
    const secrets = this.secrets.get(path) ?? [];
    if (secrets.length === 0) this.problems.push(`${path}: a message for a path with no known secret`);
    for (const secret of secrets) {
      try {
        m.json = new StandardWebhook(secret).verify(body, plain);
      } catch (err) {
        this.problems.push(`${path} ${m.id}: ${(err as Error).message}`);
      }
    }
    if (headers['content-type'] !== 'application/json')
      this.problems.push(`${path}: content-type ${headers['content-type']}`);
    this.received.push(m);
    return m;
  }

  on(path: string, filter: (m: Received) => boolean = () => true): Received[] {
    return this.received.filter((m) => m.path === path && filter(m));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const ofClaim = (claimId: string) => (m: Received) => m.json?.data?.claim?.id === claimId;

describe('webhooks: signed messages for every decision, with retries', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let pool: Account[];
  let unready: Account;
  let receiver: Receiver;
  const secrets = new Secrets();
  const take = () => {
    const p = pool.shift();
    if (!p) throw new Error('player pool exhausted');
    return p;
  };

  beforeAll(async () => {
    receiver = await new Receiver().start();
    stack = await startStack({
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: '1,1,1', WEBHOOK_SENDS_PER_ENDPOINT: '4' },
    });
    admin = await adminAccount(stack);
    operator = await createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' });
    pool = await createAccounts(stack, admin.token, 24);
    unready = await createAccount(stack, admin.token, { label: 'unready' });
    const apiKey = (await createApiKey(stack, admin.token)).key;
    await postActivities(
      stack,
      apiKey,
      pool.map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** A webhook at `path` on the receiver (or `url`), its secret registered for verification. */
  async function webhook(path: string, events: WebhookMessageType[] = CLAIM_TYPES, url = `${receiver.url}${path}`) {
    const res = await stack.client.call('createWebhook', {
      token: admin.token,
      body: { url, events, description: `test ${path}` },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    secrets.add('webhook secret', res.body.secret);
    receiver.secrets.set(path, [res.body.secret]);
    return { ...res.body.webhook, secret: res.body.secret };
  }
  const remove = (id: string) => stack.client.call('deleteWebhook', { token: admin.token, params: { id } });
  const deliveries = async (id: string, status?: WebhookDelivery['status']) => {
    const res = await stack.client.call('listWebhookDeliveries', {
      token: admin.token,
      params: { id },
      query: { limit: 100, ...(status ? { status } : {}) },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.items;
  };
  const claim = async (player: Account, eventId: string): Promise<Claim> => {
    const res = await stack.client.call('createClaim', { token: player.token, params: { id: eventId } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.claim;
  };
  const arrived = async (path: string, filter: (m: Received) => boolean, n = 1, timeoutMs = 10_000) => {
    await waitFor(async () => receiver.on(path, filter).length >= n, timeoutMs, `${n} message(s) on ${path}`);
    return receiver.on(path, filter);
  };

  it('an approved claim is pushed as a signed claim.approved with the claim and its grants, at once', async () => {
    const hook = await webhook('/approved', ['claim.approved']);
    const event = await createEvent(stack, operator.token, READY);
    await createReward(stack, operator.token, event.id, {
      type: 'ITEM',
      name: 'Sword',
      itemCode: 'SWORD',
      quantity: 1,
    });
    await createReward(stack, operator.token, event.id, { type: 'POINT', name: 'Points', quantity: 100 });
    const player = take();
    const decidedAt = Date.now();
    const approved = await claim(player, event.id);
    expect(approved.status).toBe('APPROVED');
    const [m] = await arrived('/approved', ofClaim(approved.id));
    const grants = await stack.client.call('myRewards', { token: player.token, query: { limit: 100 } });
    expect(m!.json).toEqual({
      type: 'claim.approved',
      timestamp: expect.stringMatching(/Z$/),
      data: { claim: approved, grants: expect.any(Array) },
    });
    expect(Object.keys(m!.json)).toEqual(['type', 'timestamp', 'data']);
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect([...m!.json.data.grants].sort(byId)).toEqual([...grants.body.items].sort(byId));
    expect(m!.json.data.grants).toHaveLength(2);
    expect(m!.id).toMatch(UUID);
    expect(Math.abs(m!.timestamp - Date.now() / 1000)).toBeLessThan(10);
    expect(m!.signatures).toHaveLength(1);
    expect(m!.signatures[0]).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
    // Decision to first attempt: the deciding instance wakes its worker on commit.
    console.info(`webhook: decision to first attempt ${m!.at - decidedAt} ms (including the claim request)`);
    expect(m!.at - decidedAt).toBeLessThan(2000);

    const [delivery] = (await deliveries(hook.id)).filter((d) => d.messageId === m!.id);
    expect(delivery).toEqual({
      messageId: m!.id,
      type: 'claim.approved',
      status: 'DELIVERED',
      attempts: 1,
      lastAttemptAt: expect.any(String),
      lastResponseStatus: 200,
      lastError: null,
      nextAttemptAt: null,
      deliveredAt: expect.any(String),
      createdAt: expect.any(String),
    });
    expect(receiver.on('/approved', (r) => r.id === m!.id)).toHaveLength(1);
    expect((await remove(hook.id)).status).toBe(204);
    expect(receiver.problems).toEqual([]);
  });

  it('a slow endpoint has at most WEBHOOK_SENDS_PER_ENDPOINT (4) sends in flight, and holds up no other endpoint', async () => {
    const slow = await webhook('/slow', ['claim.approved']);
    const fast = await webhook('/fast', ['claim.approved']);
    receiver.delayMs.set('/slow', 1000);
    const event = await createEvent(stack, admin.token, READY);
    const claims = await Promise.all(Array.from({ length: 10 }, take).map((p) => claim(p, event.id)));
    const ids = new Set(claims.map((c) => c.id));
    const ofEvent = (m: Received) => ids.has(m.json?.data?.claim?.id);
    const atSlow = await arrived('/slow', ofEvent, 10, 15_000);
    const atFast = receiver.on('/fast', ofEvent);
    expect(new Set(atSlow.map((m) => m.json.data.claim.id))).toEqual(ids);
    expect(new Set(atFast.map((m) => m.json.data.claim.id))).toEqual(ids);
    // Ten messages waited at the slow endpoint, so it had its four at once, and never a fifth.
    expect(receiver.maxInFlight.get('/slow')).toBe(4);
    // The slow endpoint's fifth message went out only when one of its first four was answered; by
    // then every message of the fast endpoint had arrived.
    const fifthAtSlow = atSlow.map((m) => m.at).sort((a, b) => a - b)[4]!;
    expect(Math.max(...atFast.map((m) => m.at))).toBeLessThan(fifthAtSlow);
    receiver.delayMs.delete('/slow');
    for (const w of [slow, fast]) expect((await remove(w.id)).status).toBe(204);
  });

  it('a receiver answering 500 twice gets three attempts with the same webhook-id, then it is DELIVERED', async () => {
    const hook = await webhook('/flaky', ['claim.approved']);
    receiver.answer.set('/flaky', (_m, attempt) => (attempt <= 2 ? 500 : 200));
    const event = await createEvent(stack, operator.token, READY);
    const approved = await claim(take(), event.id);
    const attempts = await arrived('/flaky', ofClaim(approved.id), 3);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(1);
    expect(attempts.map((a) => a.body)).toEqual([attempts[0]!.body, attempts[0]!.body, attempts[0]!.body]);
    // The schedule (1 s, with up to 10 % jitter) between attempts.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(900);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(900);
    await waitFor(
      async () => (await deliveries(hook.id, 'DELIVERED')).some((d) => d.messageId === attempts[0]!.id),
      5000,
      'DELIVERED',
    );
    const [delivery] = await deliveries(hook.id);
    expect(delivery).toMatchObject({ messageId: attempts[0]!.id, status: 'DELIVERED', attempts: 3 });
    expect(delivery).toMatchObject({ lastResponseStatus: 200, lastError: null, nextAttemptAt: null });
    await sleep(1500);
    expect(receiver.on('/flaky')).toHaveLength(3);
    await remove(hook.id);
    expect(receiver.problems).toEqual([]);
  });

  it('a receiver down for the whole schedule leaves the delivery FAILED; a manual retry then delivers it', async () => {
    const port = await freePort();
    const hook = await webhook('/down', ['claim.approved'], `http://127.0.0.1:${port}/down`);
    const event = await createEvent(stack, operator.token, READY);
    const approved = await claim(take(), event.id);
    let failed: WebhookDelivery | undefined;
    await waitFor(
      async () => {
        [failed] = await deliveries(hook.id, 'FAILED');
        return failed !== undefined;
      },
      15_000,
      'FAILED',
    );
    // The first attempt and one for each of the schedule's three waits.
    expect(failed).toMatchObject({ type: 'claim.approved', status: 'FAILED', attempts: 4, nextAttemptAt: null });
    expect(failed).toMatchObject({ lastResponseStatus: null, deliveredAt: null });
    expect(failed!.lastError).toMatch(/ECONNREFUSED/);
    expect(failed!.lastError!.length).toBeLessThanOrEqual(500);

    const back = await new Receiver().start(port);
    back.secrets.set('/down', [hook.secret]);
    try {
      const retry = await stack.client.call('retryWebhookDelivery', {
        token: admin.token,
        params: { id: hook.id, messageId: failed!.messageId },
      });
      expect(retry.status, JSON.stringify(retry.body)).toBe(202);
      expect(retry.body.delivery).toMatchObject({ messageId: failed!.messageId, status: 'PENDING', attempts: 4 });
      await waitFor(async () => back.on('/down').length > 0, 5000, 'the retried message');
      const [m] = back.on('/down');
      expect(m).toMatchObject({ id: failed!.messageId });
      expect(m!.json.data.claim.id).toBe(approved.id);
      await waitFor(async () => (await deliveries(hook.id, 'DELIVERED')).length === 1, 5000, 'DELIVERED');
      expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'DELIVERED', attempts: 5, lastError: null });
      expect(back.problems).toEqual([]);
    } finally {
      await back.close();
    }
    await remove(hook.id);
  });

  it('after a rotation, messages verify under the old and the new secret; neither is shown again', async () => {
    const hook = await webhook('/rotating', ['claim.approved', 'webhook.test']);
    const rotated = await stack.client.call('rotateWebhookSecret', { token: admin.token, params: { id: hook.id } });
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    const fresh = secrets.add('webhook secret', rotated.body.secret);
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(hook.secret);
    receiver.secrets.set('/rotating', [hook.secret, fresh]);

    const event = await createEvent(stack, operator.token, READY);
    const approved = await claim(take(), event.id);
    const [m] = await arrived('/rotating', ofClaim(approved.id));
    expect(m!.signatures).toHaveLength(2);
    const test = await stack.client.call('testWebhook', { token: admin.token, params: { id: hook.id } });
    expect(test.status, JSON.stringify(test.body)).toBe(202);
    const [t] = await arrived('/rotating', (r) => r.id === test.body.messageId);
    expect(t!.json).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: {} });
    expect(t!.signatures).toHaveLength(2);

    const got = await stack.client.call('getWebhook', { token: admin.token, params: { id: hook.id } });
    const listed = await stack.client.call('listWebhooks', { token: admin.token, query: { limit: 100 } });
    for (const text of [JSON.stringify(got.body), JSON.stringify(listed.body)]) {
      expect(secrets.foundIn(text, 'a GET response')).toEqual([]);
      expect(text).not.toContain('whsec_');
    }
    expect(Object.keys(got.body.webhook).sort()).toEqual(['active', 'createdAt', 'description', 'events', 'id', 'url']);
    await remove(hook.id);
    expect(receiver.problems).toEqual([]);
  });

  it('deleted and inactive webhooks receive nothing', async () => {
    const control = await webhook('/control', ['claim.approved']);
    const deleted = await webhook('/deleted');
    const inactive = await webhook('/inactive');
    expect((await remove(deleted.id)).status).toBe(204);
    expectError(
      await stack.client.call('getWebhook', { token: admin.token, params: { id: deleted.id } }),
      404,
      'NOT_FOUND',
    );
    expect((await remove(deleted.id)).status).toBe(404);
    const listed = await stack.client.call('listWebhooks', { token: admin.token, query: { limit: 100 } });
    expect(listed.body.items.map((w) => w.id)).not.toContain(deleted.id);
    const off = await stack.client.call('updateWebhook', {
      token: admin.token,
      params: { id: inactive.id },
      body: { active: false },
    });
    expect(off.status).toBe(200);
    expect(off.body.webhook).toMatchObject({ id: inactive.id, active: false });
    const test = await stack.client.call('testWebhook', { token: admin.token, params: { id: inactive.id } });
    expectError(test, 409, 'INVALID_STATE');

    const event = await createEvent(stack, operator.token, READY);
    const approved = await claim(take(), event.id);
    await arrived('/control', ofClaim(approved.id));
    await sleep(1000);
    expect(receiver.on('/deleted')).toEqual([]);
    expect(receiver.on('/inactive')).toEqual([]);
    expect(await deliveries(inactive.id)).toEqual([]);
    await remove(control.id);
    await remove(inactive.id);
  });

  it('every decision is pushed: pending, operator reject and approve (single, bulk), system rejection', async () => {
    const hook = await webhook('/decisions');
    const manual = await createEvent(stack, operator.token, READY, { approval: 'MANUAL' });
    await createReward(stack, operator.token, manual.id, { type: 'COUPON', name: 'Coupon', quantity: 1 });
    const [a, b, c] = [take(), take(), take()];
    const pendingA = await claim(a, manual.id);
    const pendingB = await claim(b, manual.id);
    const pendingC = await claim(c, manual.id);
    expect(pendingA.status).toBe('PENDING');
    for (const p of [pendingA, pendingB, pendingC]) {
      const [m] = await arrived('/decisions', (r) => ofClaim(p.id)(r) && r.json.type === 'claim.pending');
      expect(m!.json).toEqual({ type: 'claim.pending', timestamp: expect.any(String), data: { claim: p } });
    }

    const rejected = await stack.client.call('rejectClaim', {
      token: operator.token,
      params: { id: pendingA.id },
      body: { reason: 'Not this time' },
    });
    expect(rejected.status).toBe(200);
    const [r] = await arrived('/decisions', (m) => ofClaim(pendingA.id)(m) && m.json.type === 'claim.rejected');
    expect(r!.json.data).toEqual({ claim: rejected.body.claim });
    expect(r!.json.data.claim).toMatchObject({
      status: 'REJECTED',
      reason: 'REJECTED_BY_OPERATOR',
      note: 'Not this time',
    });

    const approved = await stack.client.call('approveClaim', { token: operator.token, params: { id: pendingB.id } });
    expect(approved.status).toBe(200);
    const [ok] = await arrived('/decisions', (m) => ofClaim(pendingB.id)(m) && m.json.type === 'claim.approved');
    expect(ok!.json.data.claim).toEqual(approved.body.claim);
    expect(ok!.json.data.grants).toEqual([
      expect.objectContaining({ claimId: pendingB.id, userId: b.id, type: 'COUPON', name: 'Coupon', quantity: 1 }),
    ]);

    const bulk = await stack.client.call('decideClaims', {
      token: operator.token,
      body: { decision: 'REJECT', ids: [pendingC.id], reason: 'Bulk' },
    });
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200);
    await arrived('/decisions', (m) => ofClaim(pendingC.id)(m) && m.json.type === 'claim.rejected');

    // Rejected by the system: the condition is not met.
    const auto = await createEvent(stack, operator.token, READY);
    const notMet = await claim(unready, auto.id);
    expect(notMet).toMatchObject({ status: 'REJECTED', reason: 'CONDITION_NOT_MET' });
    const [sys] = await arrived('/decisions', ofClaim(notMet.id));
    expect(sys!.json).toEqual({ type: 'claim.rejected', timestamp: expect.any(String), data: { claim: notMet } });

    // One message per decision: nothing twice.
    const ids = receiver.on('/decisions').map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(7);
    // A delivery is marked DELIVERED once its receiver answered: just after the message arrived.
    await waitFor(async () => (await deliveries(hook.id, 'DELIVERED')).length >= ids.length, 5000, 'all DELIVERED');
    const listed = await deliveries(hook.id, 'DELIVERED');
    expect(listed.map((d) => d.messageId).sort()).toEqual([...ids].sort());
    await remove(hook.id);
    expect(receiver.problems).toEqual([]);
  });

  it('400 for bad bodies, 404 for unknown ids, 403 for anyone but an admin; every change audited', async () => {
    expectValidationError(await stack.client.call('createWebhook', { token: admin.token, body: {} }), [
      'url',
      'events',
    ]);
    const bad = [
      { url: 'ftp://example.com/x', events: ['claim.approved'] },
      { url: 'not a url', events: ['claim.approved'] },
      { url: 'https://example.com/x', events: [] },
      { url: 'https://example.com/x', events: ['claim.unknown'] },
      { url: 'https://example.com/x', events: ['claim.approved', 'claim.approved'] },
      { url: 'https://example.com/x', events: ['claim.approved'], secret: 'whsec_mine' },
    ];
    for (const body of bad) {
      const res = await stack.client.call('createWebhook', { token: admin.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectError(res, 400, 'VALIDATION_FAILED');
    }
    const hook = await webhook('/admin', ['claim.pending']);
    expectValidationError(
      await stack.client.call('updateWebhook', { token: admin.token, params: { id: hook.id }, body: {} }),
      [''],
    );
    expectValidationError(
      await stack.client.call('updateWebhook', { token: admin.token, params: { id: hook.id }, body: { url: 'x' } }),
      ['url'],
    );
    const patched = await stack.client.call('updateWebhook', {
      token: admin.token,
      params: { id: hook.id },
      body: { events: ['claim.rejected', 'claim.pending'], description: null },
    });
    expect(patched.body.webhook).toMatchObject({ events: ['claim.rejected', 'claim.pending'], description: null });

    const unknown = '00000000-0000-4000-8000-000000000000';
    const params = { id: unknown };
    for (const res of [
      await stack.client.call('getWebhook', { token: admin.token, params }),
      await stack.client.call('updateWebhook', { token: admin.token, params, body: { active: true } }),
      await stack.client.call('deleteWebhook', { token: admin.token, params }),
      await stack.client.call('rotateWebhookSecret', { token: admin.token, params }),
      await stack.client.call('testWebhook', { token: admin.token, params }),
      await stack.client.call('listWebhookDeliveries', { token: admin.token, params }),
      await stack.client.call('retryWebhookDelivery', {
        token: admin.token,
        params: { id: unknown, messageId: unknown },
      }),
      await stack.client.call('retryWebhookDelivery', {
        token: admin.token,
        params: { id: hook.id, messageId: unknown },
      }),
    ]) {
      expectError(res, 404, 'NOT_FOUND');
    }
    expectValidationError(await stack.client.call('getWebhook', { token: admin.token, params: { id: 'nope' } }), [
      'id',
    ]);
    expectValidationError(
      await stack.client.call('listWebhookDeliveries', {
        token: admin.token,
        params: { id: hook.id },
        query: { status: 'LOST' },
      }),
      ['status'],
    );

    for (const token of [operator.token, pool[0]!.token]) {
      expectError(await stack.client.call('listWebhooks', { token }), 403, 'FORBIDDEN');
      expectError(
        await stack.client.call('createWebhook', {
          token,
          body: { url: `${receiver.url}/x`, events: ['claim.approved'] },
        }),
        403,
        'FORBIDDEN',
      );
      expectError(await stack.client.call('rotateWebhookSecret', { token, params: { id: hook.id } }), 403, 'FORBIDDEN');
    }

    const test = await stack.client.call('testWebhook', { token: admin.token, params: { id: hook.id } });
    await arrived('/admin', (m) => m.id === test.body.messageId);
    await stack.client.call('retryWebhookDelivery', {
      token: admin.token,
      params: { id: hook.id, messageId: test.body.messageId },
    });
    await arrived('/admin', (m) => m.id === test.body.messageId, 2);
    await stack.client.call('rotateWebhookSecret', { token: admin.token, params: { id: hook.id } }).then((r) => {
      secrets.add('webhook secret', r.body.secret);
      receiver.secrets.set('/admin', [hook.secret, r.body.secret]);
    });
    await remove(hook.id);

    const mine = await withServiceDb(stack, 'event', (db) =>
      db.query<{ action: string; actorId: string }>(
        `select action, actor_id as "actorId", before, after from audit_log where target_id like $1 order by seq`,
        [`${hook.id}%`],
      ),
    );
    expect(new Set(mine.map((e) => e.action))).toEqual(
      new Set([
        'webhook.create',
        'webhook.update',
        'webhook.test',
        'webhook.retry',
        'webhook.rotate-secret',
        'webhook.delete',
      ]),
    );
    expect(mine.every((e) => e.actorId === admin.id)).toBe(true);
    expect(secrets.foundIn(JSON.stringify(mine), 'the audit log')).toEqual([]);
    const audit = await stack.client.call('auditLog', { token: admin.token, query: { action: 'webhook.create' } });
    expect(audit.body.items.some((e) => e.targetId === hook.id)).toBe(true);
    expect(receiver.problems).toEqual([]);
  });

  it('counts deliveries by outcome and the age of the oldest pending message', async () => {
    const text = await (await fetch(`${stack.eventUrls[0]}/metrics`)).text();
    const delivered = /^webhook_deliveries_total\{[^}]*outcome="delivered"[^}]*\} (\d+)/m.exec(text);
    expect(Number(delivered?.[1])).toBeGreaterThan(5);
    expect(text).toMatch(/^webhook_deliveries_total\{[^}]*outcome="retry"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^webhook_deliveries_total\{[^}]*outcome="failed"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^webhook_outbox_oldest_pending_seconds\{[^}]*\} \d/m);
  });

  it('no secret reaches a log, the database aside', async () => {
    expect(secrets.size).toBeGreaterThan(5);
    const texts = logsText(stack.logs);
    const hits = Object.entries(texts).flatMap(([name, text]) => secrets.foundIn(text, `${name} log`));
    expect(hits).toEqual([]);
    const audit = await withServiceDb(stack, 'event', (db) => db.query('select * from audit_log'));
    expect(secrets.foundIn(JSON.stringify(audit), 'audit_log')).toEqual([]);
    expect(receiver.problems).toEqual([]);
  });
});

describe('webhooks under faults: a receiver outage under claim load, kill -9 of an event instance', () => {
  let stack: Stack;
  let receiver: Receiver;
  let admin: Account;
  let players: Account[];

  beforeAll(async () => {
    receiver = await new Receiver().start();
    stack = await startStack({
      eventInstances: 2,
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1' },
    });
    admin = await adminAccount(stack);
    players = await createAccounts(stack, admin.token, 70);
    const apiKey = (await createApiKey(stack, admin.token)).key;
    await postActivities(
      stack,
      apiKey,
      players.map((p) => ({ userId: p.id, type: 'READY', occurredAt: new Date().toISOString() })),
    );
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** The message ids the database holds for a webhook: exactly one per decision on the event. */
  const messagesOf = (webhookId: string, eventId: string) =>
    withServiceDb(stack, 'event', async (db) => {
      const decisions = await db.query<{ id: string }>('select id from claims where event_id = $1', [eventId]);
      const messages = await db.query<{ message_id: string; claim_id: string }>(
        `select message_id, (payload::json -> 'data' -> 'claim' ->> 'id') as claim_id
         from webhook_messages where webhook_id = $1`,
        [webhookId],
      );
      expect(messages.map((m) => m.claim_id).sort()).toEqual(decisions.map((d) => d.id).sort());
      return new Set(messages.map((m) => m.message_id));
    });

  it('a receiver down while claims pour in gets every message once it is back', async () => {
    const port = await freePort();
    const created = await stack.client.call('createWebhook', {
      token: admin.token,
      body: { url: `http://127.0.0.1:${port}/outage`, events: CLAIM_TYPES },
    });
    expect(created.status).toBe(201);
    const event = await createEvent(stack, admin.token, READY);
    const load = players.splice(0, 30);
    const started = Date.now();
    for (let i = 0; i < load.length; i += 10) {
      await Promise.all(
        load.slice(i, i + 10).map(async (p) => {
          const res = await stack.client.call('createClaim', { token: p.token, params: { id: event.id } });
          expect(res.status).toBe(201);
        }),
      );
      await sleep(500);
    }
    await sleep(Math.max(0, 5000 - (Date.now() - started)));
    const back = await new Receiver().start(port);
    back.secrets.set('/outage', [created.body.secret]);
    try {
      const expected = await messagesOf(created.body.webhook.id, event.id);
      expect(expected.size).toBe(load.length);
      await waitFor(
        async () => [...expected].every((id) => back.on('/outage', (m) => m.id === id).length > 0),
        20_000,
        'every message after the outage',
      );
      expect([...new Set(back.on('/outage').map((m) => m.id))].filter((id) => !expected.has(id))).toEqual([]);
      expect(back.problems).toEqual([]);
    } finally {
      await back.close();
    }
    const removed = await stack.client.call('deleteWebhook', {
      token: admin.token,
      params: { id: created.body.webhook.id },
    });
    expect(removed.status).toBe(204);
  });

  it('kill -9 of an event instance while it sends: every decision still arrives at least once', async () => {
    players = players.splice(0, 40);
    const created = await stack.client.call('createWebhook', {
      token: admin.token,
      body: { url: `${receiver.url}/game`, events: CLAIM_TYPES },
    });
    expect(created.status).toBe(201);
    receiver.secrets.set('/game', [created.body.secret]);
    // A slow receiver: sends stay in flight long enough to be cut off.
    receiver.delayMs.set('/game', 400);
    const event = await createEvent(stack, admin.token, READY);
    await Promise.all(
      players.map(async (p) => {
        const res = await stack.client.call('createClaim', { token: p.token, params: { id: event.id } });
        expect(res.status).toBe(201);
      }),
    );
    await waitFor(async () => receiver.on('/game').length >= 6, 10_000, 'sends under way on both instances');
    await stack.kill('event-1', 'SIGKILL');
    const atKill = new Set(receiver.on('/game').map((m) => m.id));

    const expected = await messagesOf(created.body.webhook.id, event.id);
    expect(expected.size).toBe(players.length);
    // The dead instance's leases run out (30 s); the surviving instance sends those too.
    await waitFor(
      async () => [...expected].every((id) => receiver.on('/game', (m) => m.id === id).length > 0),
      60_000,
      'every message',
    );
    const ids = new Set(receiver.on('/game').map((m) => m.id));
    expect([...ids].filter((id) => !expected.has(id))).toEqual([]);
    const claimIds = new Set(receiver.on('/game').map((m) => m.json?.data?.claim?.id));
    expect(claimIds.size).toBe(players.length);
    console.info(
      `webhook kill test: ${atKill.size} delivered before the kill, ${receiver.received.length} requests for ` +
        `${expected.size} messages`,
    );
    expect(receiver.problems).toEqual([]);
  });
});
