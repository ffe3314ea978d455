import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimsOf, expectError, sleep } from '../support/expect-api.js';
import { startStack, type Stack } from '../support/stack.js';

/** Revocation is promised within 1 s. */
const REVOCATION_MS = 1000;
const ROUNDS = 6;
const LOOPS = 8;

/**
 * A login in flight while an admin changes the user's roles must not hand out a token that keeps
 * the old roles: once `PUT /users/{id}/roles` has answered (and the promised second has passed),
 * no token issued in the race is accepted with the roles it carried before.
 */
describe('a demotion racing logins', () => {
  let stack: Stack;
  let adminToken: string;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  let target: { id: string; email: string };

  beforeAll(async () => {
    stack = await startStack();
    const admin = await stack.client.call('login', {
      body: { email: stack.admin.email, password: stack.admin.password },
    });
    adminToken = admin.body.accessToken;
    const email = `racer.${randomBytes(3).toString('hex')}@example.com`;
    const reg = await stack.client.call('register', { body: { email, password } });
    expect(reg.status).toBe(201);
    target = { id: reg.body.user.id, email };
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it(`in ${ROUNDS} rounds of ${LOOPS} parallel login loops, no token survives the demotion with ADMIN`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const promoted = await stack.client.call('setRoles', {
        token: adminToken,
        params: { id: target.id },
        body: { roles: ['ADMIN'] },
      });
      expect(promoted.status).toBe(200);
      let demoted = false;
      const issued: string[] = [];
      const loop = async () => {
        while (!demoted) {
          const res = await stack.client.call('login', { body: { email: target.email, password } });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          issued.push(res.body.accessToken);
        }
      };
      const loops = Array.from({ length: LOOPS }, () => loop());
      // Let the loops get going, so logins are in flight when the demotion lands.
      await sleep(250 + Math.floor(Math.random() * 250));
      // The loops finish the logins they have in flight and stop: those are the ones racing the change.
      const demotion = stack.client.call('setRoles', {
        token: adminToken,
        params: { id: target.id },
        body: { roles: ['USER'] },
      });
      demoted = true;
      const res = await demotion;
      expect(res.status).toBe(200);
      expect(res.body.user.roles).toEqual(['USER']);
      await Promise.all(loops);
      await sleep(REVOCATION_MS);

      for (const token of issued) {
        const list = await stack.client.call('listUsers', { token });
        if (claimsOf(token).roles.includes('ADMIN')) {
          // A token minted with the old roles belongs to a session the demotion ended.
          expectError(list, 401, 'UNAUTHENTICATED');
        } else {
          expect(list.status).toBeOneOf([401, 403]);
        }
        const promote = await stack.client.call('setRoles', {
          token,
          params: { id: target.id },
          body: { roles: ['ADMIN'] },
        });
        expect(promote.status).toBeOneOf([401, 403]);
      }
      expect(issued.length).toBeGreaterThanOrEqual(LOOPS);
      // Still demoted: nothing issued in the race could promote itself back.
      const me = await stack.client.call('listUsers', { token: adminToken, query: { email: target.email } });
      expect(me.body.items.map((u: { roles: string[] }) => u.roles)).toEqual([['USER']]);
    }
  });
});
