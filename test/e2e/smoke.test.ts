import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

describe('platform smoke', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('signs the admin in through the gateway', async () => {
    const login = await stack.client.call('login', { body: stack.admin });
    expect(login.status).toBe(200);
    const me = await stack.client.call('me', { token: login.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user.roles).toEqual(['ADMIN']);
  });
});
