import { randomBytes, randomUUID } from 'node:crypto';
import { RewardsApiError, RewardsClient } from '@rewards/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminAccount, createApiKey } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

/** The SDK as a game server and a player's tool use it, against the real platform. */
describe('@rewards/sdk', () => {
  let stack: Stack;
  let operatorToken: string;
  let apiKey: string;

  beforeAll(async () => {
    stack = await startStack();
    const admin = await adminAccount(stack);
    operatorToken = admin.token;
    apiKey = (await createApiKey(stack, admin.token, 'sdk-game-server')).key;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('a player signs in, a game server posts the facts, the player sees progress and claims once', async () => {
    const email = `sdk.${randomBytes(3).toString('hex')}@example.com`;
    const password = `pw-${randomBytes(6).toString('hex')}`;
    expect((await stack.client.call('register', { body: { email, password } })).status).toBe(201);
    const now = Date.now();
    const created = await stack.client.call('createEvent', {
      token: operatorToken,
      body: {
        title: 'Clear two quests',
        startsAt: new Date(now - 86_400_000).toISOString(),
        endsAt: new Date(now + 86_400_000).toISOString(),
        condition: { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 2 },
        status: 'ACTIVE',
      },
    });
    expect(created.status).toBe(201);
    const eventId: string = created.body.event.id;
    const reward = await stack.client.call('createReward', {
      token: operatorToken,
      params: { id: eventId },
      body: { type: 'ITEM', name: 'Quest Badge', itemCode: 'BADGE_Q2', quantity: 1 },
    });
    expect(reward.status).toBe(201);

    const player = new RewardsClient({ baseUrl: stack.gatewayUrl });
    const tokens = await player.signIn(email, password);
    expect(tokens.tokenType).toBe('Bearer');
    const me = await stack.client.call('me', { token: tokens.accessToken });
    const gameServer = new RewardsClient({ baseUrl: `${stack.gatewayUrl}/`, apiKey });
    const fact = (n: number) => ({
      id: `sdk-${randomUUID()}-${n}`,
      userId: me.body.user.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
    });

    expect(await gameServer.ingestActivities([fact(1), fact(2)])).toEqual({ accepted: 2, duplicates: 0 });
    const progress = await player.progress(eventId);
    expect(progress).toMatchObject({
      eventId,
      eligible: true,
      condition: { type: 'ACTIVITY_COUNT', required: 2, current: 2, met: true },
    });

    const claim = await player.claim(eventId, { idempotencyKey: 'sdk-claim-1' });
    expect(claim).toMatchObject({ eventId, userId: me.body.user.id, status: 'APPROVED', reason: null });
    expect((await player.claim(eventId, { idempotencyKey: 'sdk-claim-1' })).id).toBe(claim.id);
    const again = await player.claim(eventId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(RewardsApiError);
    expect(again).toMatchObject({ status: 409, code: 'ALREADY_CLAIMED', requestId: expect.any(String) });
    expect((await player.event(eventId)).title).toBe('Clear two quests');

    // The game server drains the grants feed with a grants:read key: the badge, once.
    const feedKey = await stack.client.call('createApiKey', {
      token: operatorToken,
      body: { name: 'sdk-feed', scopes: ['grants:read'] },
    });
    const feed = new RewardsClient({ baseUrl: stack.gatewayUrl, apiKey: feedKey.body.key });
    const seen = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await feed.grantsFeed({ after: cursor, limit: 100, userId: me.body.user.id });
      seen.push(...page.items);
      if (page.nextCursor === cursor) break;
      cursor = page.nextCursor;
    }
    expect(seen.map((g) => ({ claimId: g.claimId, itemCode: g.itemCode, userId: g.userId }))).toEqual([
      { claimId: claim.id, itemCode: 'BADGE_Q2', userId: me.body.user.id },
    ]);
  });

  it('refuses with the platform’s error codes', async () => {
    const client = new RewardsClient({ baseUrl: stack.gatewayUrl });
    await expect(client.signIn('nobody@example.com', 'wrong-password')).rejects.toMatchObject({
      status: 401,
      code: 'INVALID_CREDENTIALS',
    });
    await expect(client.progress(randomUUID())).rejects.toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    const forged = new RewardsClient({
      baseUrl: stack.gatewayUrl,
      apiKey: `rk_${randomBytes(32).toString('base64url')}`,
    });
    await expect(
      forged.ingestActivities([{ id: 'x', userId: randomUUID(), type: 'LOGIN', occurredAt: new Date().toISOString() }]),
    ).rejects.toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
  });
});
