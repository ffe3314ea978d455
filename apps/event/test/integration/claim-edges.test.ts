import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Claim, CreateEventBody, CreateRewardBody } from '@rewards/contracts';
import type { Principal } from '@rewards/infrastructure';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../../../test/support/databases.js';
import { ActivitiesService } from '../../src/activities/activities.service.js';
import { ClaimsService } from '../../src/claims/claims.service.js';
import { EventsService } from '../../src/events/events.service.js';
import { contextOf, type EventApp, operator, player, refusal, startEventApp } from './event-app.js';

/**
 * Review of the two-statement claim path: cases where its answer differs from the contract
 * (API.md, ARCHITECTURE.md "Counting happens inside the event window"; "Replaying a claim with the
 * same Idempotency-Key returns the first response").
 */

const migrations = fileURLToPath(new URL('../../migrations', import.meta.url));

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const POINTS: CreateRewardBody = { type: 'POINT', name: '100 points', quantity: 100 };

describe('claims at the edges', () => {
  let t: TestDatabase;
  let a: EventApp;
  let b: EventApp;
  const ops = operator();

  beforeAll(async () => {
    t = await openTestDatabase(migrations, 'event');
    [a, b] = await Promise.all([startEventApp(t.url), startEventApp(t.url)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await t?.dispose();
  });

  async function newEvent(over: Partial<CreateEventBody>, rewards: CreateRewardBody[] = [POINTS]) {
    const events = a.get(EventsService);
    const event = await events.create(contextOf(ops), {
      title: 'Review',
      startsAt: new Date(Date.now() - HOUR).toISOString(),
      endsAt: new Date(Date.now() + HOUR).toISOString(),
      condition: { type: 'ACTIVITY_COUNT', activity: 'LOGIN', count: 2 },
      status: 'ACTIVE',
      timezone: 'UTC',
      ...over,
    });
    for (const r of rewards) await events.addReward(contextOf(ops), event.id, r);
    return event;
  }

  /** A LOGIN as auth's outbox delivers it (POST /internal/activities): stamped by auth's clock, no future bound. */
  const platformLogin = (p: Principal, occurredAt: Date) =>
    a
      .get(ActivitiesService)
      .ingestFromPlatform('auth', [
        { id: `login-${randomUUID()}`, userId: p.subject, type: 'LOGIN', occurredAt: occurredAt.toISOString() },
      ]);

  describe('facts horizon', () => {
    it.each([
      ['5 minutes', 5 * MINUTE],
      ['1 hour', HOUR],
    ])('a platform fact stamped after the window end never counts (window ending in %s)', async (_, ahead) => {
      // Whole minute, so that end + 1 s lies on the end's own local day.
      const end = new Date(Math.floor((Date.now() + ahead) / MINUTE) * MINUTE);
      const e = await newEvent({ endsAt: end.toISOString() });
      const p = player();
      await platformLogin(p, new Date(Date.now() - MINUTE)); // inside the window
      await platformLogin(p, new Date(end.getTime() + 1000)); // after its end (auth's clock ahead)

      const c = await a.get(ClaimsService).claim(p, e.id);
      // One LOGIN inside [startsAt, endsAt): the condition (2) is not met.
      expect({ status: c.status, reason: c.reason }).toEqual({ status: 'REJECTED', reason: 'CONDITION_NOT_MET' });
    });
  });

  describe('Idempotency-Key', () => {
    it('a key first answered ALREADY_CLAIMED (409) is answered 409 again after the held claim is rejected', async () => {
      const e = await newEvent({ approval: 'MANUAL', condition: { type: 'LEVEL_REACHED', level: 1 } });
      const p = player();
      await a.get(ActivitiesService).ingest(contextOf({ kind: 'user', subject: randomUUID(), roles: ['ADMIN'] }), [
        {
          id: `lvl-${p.subject}`,
          userId: p.subject,
          type: 'LEVEL_UP',
          occurredAt: new Date().toISOString(),
          value: 5,
        },
      ]);
      const held: Claim = await a.get(ClaimsService).claim(p, e.id);
      expect(held.status).toBe('PENDING');

      // The client's first request with this key: 409.
      expect(await refusal(a.get(ClaimsService).claim(p, e.id, 'retry-me'))).toEqual({
        code: 'ALREADY_CLAIMED',
        status: 409,
      });
      await b.get(ClaimsService).reject(contextOf(ops), held.id, 'duplicate');

      // The client retries the same request (same key): per API.md the first response, 409, again,
      // not a new claim.
      expect(await refusal(b.get(ClaimsService).claim(p, e.id, 'retry-me'))).toEqual({
        code: 'ALREADY_CLAIMED',
        status: 409,
      });
    });
  });
});
