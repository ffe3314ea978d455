import { randomUUID } from 'node:crypto';
import type { Event } from '@rewards/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminAccount,
  createAccount,
  createApiKey,
  createEvent,
  createReward,
  DAY_MS,
  errorBody,
  validationError,
  walk,
  type Account,
} from '../support/fixtures.js';
import { type ServiceDb, withServiceDb } from '../support/db.js';
import { startStack, type Stack } from '../support/stack.js';

const LOGIN_DAYS_1 = { type: 'LOGIN_DAYS', days: 1 } as const;

describe('activities, events and rewards', () => {
  let stack: Stack;
  let admin: Account;
  let operator: Account;
  let auditor: Account;
  let player: Account;
  let apiKey: string;
  const window = () => ({
    startsAt: new Date(Date.now() - DAY_MS).toISOString(),
    endsAt: new Date(Date.now() + DAY_MS).toISOString(),
  });

  beforeAll(async () => {
    stack = await startStack();
    admin = await adminAccount(stack);
    [operator, auditor, player] = await Promise.all([
      createAccount(stack, admin.token, { roles: ['OPERATOR'], label: 'operator' }),
      createAccount(stack, admin.token, { roles: ['AUDITOR'], label: 'auditor' }),
      createAccount(stack, admin.token, { label: 'player' }),
    ]);
    apiKey = (await createApiKey(stack, admin.token)).key;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** The event service's own tables, read directly. */
  const withEventDb = <T>(fn: (db: ServiceDb) => Promise<T>) => withServiceDb(stack, 'event', fn);

  describe('POST /activities', () => {
    const activity = (id: string, extra: Record<string, unknown> = {}) => ({
      id,
      userId: player.id,
      type: 'QUEST_CLEARED',
      occurredAt: new Date().toISOString(),
      ...extra,
    });

    it('accepts new facts once; a resent id is a duplicate, also inside one batch', async () => {
      const ids = [randomUUID(), randomUUID()];
      const first = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: { activities: ids.map((id) => activity(id)) },
      });
      expect(first.status).toBe(202);
      expect(first.body).toEqual({ accepted: 2, duplicates: 0 });

      const again = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: { activities: ids.map((id) => activity(id)) },
      });
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ accepted: 0, duplicates: 2 });

      const fresh = randomUUID();
      const mixed = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: {
          activities: [
            activity(ids[0]!),
            activity(fresh),
            activity(fresh, { value: 3, attributes: { map: 'forest' } }),
          ],
        },
      });
      expect(mixed.status).toBe(202);
      expect(mixed.body).toEqual({ accepted: 1, duplicates: 2 });
    });

    it("accepts an API key (ids are the key holder's own: the same id from another sender is a new fact)", async () => {
      const id = randomUUID();
      const byKey = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [activity(id, { type: 'LEVEL_UP', value: 7 })] },
      });
      expect(byKey.status).toBe(202);
      expect(byKey.body).toEqual({ accepted: 1, duplicates: 0 });
      const resent = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [activity(id, { type: 'LEVEL_UP', value: 7 })] },
      });
      expect(resent.body).toEqual({ accepted: 0, duplicates: 1 });
      const byAdmin = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: { activities: [activity(id)] },
      });
      expect(byAdmin.body).toEqual({ accepted: 1, duplicates: 0 });
    });

    it('refuses callers other than ADMIN and API keys', async () => {
      const body = { activities: [activity(randomUUID())] };
      for (const who of [player, operator, auditor]) {
        const res = await stack.client.call('ingestActivities', { token: who.token, body });
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: ADMIN'));
      }
      const anonymous = await stack.client.call('ingestActivities', { body });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual(errorBody('UNAUTHENTICATED'));
      const badKey = await stack.client.call('ingestActivities', { apiKey: 'rk_not-a-key', body });
      expect(badKey.status).toBe(401);
      expect(badKey.body).toEqual(errorBody('UNAUTHENTICATED', 'API key is invalid or revoked'));
    });

    it('an API key works for /activities only', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1);
      const attempts = [
        await stack.client.call('listEvents', { apiKey }),
        await stack.client.call('createEvent', { apiKey, body: { title: 'x', ...window(), condition: LOGIN_DAYS_1 } }),
        await stack.client.call('createClaim', { apiKey, params: { id: event.id } }),
        await stack.client.call('auditLog', { apiKey }),
      ];
      // The gateway trades the key on every route; its token then only opens /activities.
      for (const res of attempts) {
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'API keys are not accepted on this route'));
      }
    });

    it.each([
      [
        'an empty batch',
        () => ({ activities: [] }),
        [{ path: 'activities', code: 'too_small', message: 'Too small: expected array to have >=1 items' }],
      ],
      [
        'a batch of 1001',
        () => ({ activities: Array.from({ length: 1001 }, (_, i) => activity(`a-${i}`)) }),
        [{ path: 'activities', code: 'too_big', message: 'Too big: expected array to have <=1000 items' }],
      ],
      [
        'a type not in UPPER_SNAKE',
        () => ({ activities: [activity('x', { type: 'questCleared' })] }),
        [{ path: 'activities.0.type', code: 'invalid_format', message: 'must be UPPER_SNAKE_CASE' }],
      ],
      [
        'a type with a trailing underscore',
        () => ({ activities: [activity('x', { type: 'QUEST_' })] }),
        [{ path: 'activities.0.type', code: 'invalid_format', message: 'must be UPPER_SNAKE_CASE' }],
      ],
      [
        'an unknown field on an activity',
        () => ({ activities: [activity('x', { points: 3 })] }),
        [{ path: 'activities.0', code: 'unrecognized_keys', message: 'Unrecognized key: "points"' }],
      ],
      [
        'an unknown top-level field',
        () => ({ activities: [activity('x')], source: 'x' }),
        [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "source"' }],
      ],
      [
        'a user id that is not a uuid',
        () => ({ activities: [activity('x', { userId: 'player-1' })] }),
        [{ path: 'activities.0.userId', code: 'invalid_format', message: 'Invalid UUID' }],
      ],
      [
        'a time without an offset',
        () => ({ activities: [activity('x', { occurredAt: '2025-01-01T00:00:00' })] }),
        [{ path: 'activities.0.occurredAt', code: 'invalid_format', message: 'Invalid ISO datetime' }],
      ],
      [
        'a value that is not a number',
        () => ({ activities: [activity('x', { value: '3' })] }),
        [
          {
            path: 'activities.0.value',
            code: 'invalid_type',
            message: 'Invalid input: expected number, received string',
          },
        ],
      ],
      [
        'an empty id',
        () => ({ activities: [activity('')] }),
        [{ path: 'activities.0.id', code: 'too_small', message: 'Too small: expected string to have >=1 characters' }],
      ],
    ])('rejects %s with 400 VALIDATION_FAILED', async (_name, body, details) => {
      const res = await stack.client.call('ingestActivities', { token: admin.token, body: body() });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validationError(details));
    });

    it('rejects a NUL character (PostgreSQL cannot store it) with 400, not 500', async () => {
      const inId = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: { activities: [activity('bad\u0000id')] },
      });
      expect(inId.status).toBe(400);
      expect(inId.body).toEqual(
        validationError([
          { path: 'activities.0.id', code: 'invalid_format', message: 'must not contain the NUL character' },
        ]),
      );
      const inAttributes = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [activity('ok-id'), activity('ok-id-2', { attributes: { note: { text: 'a\u0000b' } } })] },
      });
      expect(inAttributes.status).toBe(400);
      expect(inAttributes.body).toEqual(
        validationError([
          {
            path: 'activities.1.attributes.note.text',
            code: 'invalid_format',
            message: 'must not contain the NUL character',
          },
        ]),
      );
    });

    it('rejects text with an unpaired UTF-16 surrogate (jsonb cannot store it) with 400, not 500', async () => {
      const res = await stack.client.call('ingestActivities', {
        apiKey,
        body: {
          activities: [
            activity('lone-\ud800'),
            activity('ok-id-3', { attributes: { 'key\udc00': 1, fine: '\ud83d\ude00' } }),
          ],
        },
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(
        validationError([
          {
            path: 'activities.0.id',
            code: 'invalid_format',
            message: 'must be well-formed Unicode (no lone surrogates)',
          },
          {
            path: 'activities.1.attributes.key\udc00',
            code: 'invalid_format',
            message: 'must be well-formed Unicode (no lone surrogates)',
          },
        ]),
      );
      const paired = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [activity(`emoji-\ud83d\ude00-${randomUUID()}`)] },
      });
      expect(paired.body).toEqual({ accepted: 1, duplicates: 0 });
    });
    it('refuses a fact more than 5 minutes in the future (400, nothing of its batch stored or counted); 4 minutes ahead and the past are accepted', async () => {
      const type = 'FUTURE_PROBE';
      const event = await createEvent(stack, operator.token, { type: 'ACTIVITY_COUNT', activity: type, count: 10 });
      const fact = (id: string, occurredAt: string) => ({ id, userId: player.id, type, occurredAt });
      const stored = (db: ServiceDb) =>
        db.query<{ external_id: string; occurred_at: Date }>(
          `select external_id, occurred_at from activities where type = $1 order by external_id`,
          [type],
        );
      const countAll = async (db: ServiceDb) =>
        (await db.query<{ n: number }>('select count(*)::int as n from activities'))[0]!.n;
      const before = await withEventDb(async (db) => {
        expect(await stored(db)).toEqual([]);
        return countAll(db);
      });

      const now = Date.now();
      const FUTURE = (path: string) =>
        validationError([{ path, code: 'custom', message: 'must not be more than 5 minutes in the future' }]);
      // The year 9999 behind a fact that would be fine on its own: the whole batch is refused.
      const year9999 = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [fact('a-now', new Date(now).toISOString()), fact('b-9999', '9999-12-31T23:59:59Z')] },
      });
      expect(year9999.status).toBe(400);
      expect(year9999.body).toEqual(FUTURE('activities.1.occurredAt'));
      // The instant counts, not the wall-clock digits: "now" written with a -10:00 offset is ten hours ahead.
      const offset = await stack.client.call('ingestActivities', {
        token: admin.token,
        body: { activities: [fact('c-offset', `${new Date(now).toISOString().slice(0, 19)}-10:00`)] },
      });
      expect(offset.status).toBe(400);
      expect(offset.body).toEqual(FUTURE('activities.0.occurredAt'));
      const sixMinutes = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [fact('d-6min', new Date(now + 6 * 60_000).toISOString())] },
      });
      expect(sixMinutes.status).toBe(400);
      expect(sixMinutes.body).toEqual(FUTURE('activities.0.occurredAt'));

      // Within the 5 minutes of clock skew, and any past (an import), are accepted.
      const fourMinutes = new Date(now + 4 * 60_000).toISOString();
      const soon = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [fact('e-4min', fourMinutes)] },
      });
      expect(soon.status).toBe(202);
      expect(soon.body).toEqual({ accepted: 1, duplicates: 0 });
      const past = await stack.client.call('ingestActivities', {
        apiKey,
        body: { activities: [fact('f-2001', '2001-01-01T00:00:00Z')] },
      });
      expect(past.status).toBe(202);
      expect(past.body).toEqual({ accepted: 1, duplicates: 0 });

      // Only the two accepted facts count; the 4-minute one is inside the event window, the 2001 one is not.
      const progress = await stack.client.call('progress', { token: player.token, params: { id: event.id } });
      expect(progress.status).toBe(200);
      expect(progress.body.condition).toEqual({ type: 'ACTIVITY_COUNT', required: 10, current: 1, met: false });
      await withEventDb(async (db) => {
        expect((await stored(db)).map((r) => [r.external_id, new Date(r.occurred_at).toISOString()])).toEqual([
          ['e-4min', fourMinutes],
          ['f-2001', '2001-01-01T00:00:00.000Z'],
        ]);
        expect(await countAll(db)).toBe(before + 2);
      });
    });
  });

  describe('POST /events', () => {
    it('creates a DRAFT by default, with the documented defaults', async () => {
      const w = window();
      const res = await stack.client.call('createEvent', {
        token: operator.token,
        body: { title: '  Three days in a row  ', ...w, condition: { type: 'LOGIN_STREAK', days: 3 } },
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        event: {
          id: expect.any(String),
          title: 'Three days in a row',
          description: null,
          startsAt: w.startsAt,
          endsAt: w.endsAt,
          timezone: 'Asia/Seoul',
          status: 'DRAFT',
          condition: { type: 'LOGIN_STREAK', days: 3 },
          approval: 'AUTO',
          repeat: 'NONE',
          locked: false,
          createdBy: operator.id,
          createdAt: expect.any(String),
          updatedAt: expect.any(String),
          rewards: [],
        },
      });
      expect(res.body.event.createdAt).toBe(res.body.event.updatedAt);
      expect(Math.abs(Date.parse(res.body.event.createdAt) - Date.now())).toBeLessThan(60_000);
    });

    it('stores every given field; times come back in UTC', async () => {
      const condition = {
        type: 'ALL',
        of: [
          { type: 'LEVEL_REACHED', level: 30 },
          {
            type: 'ANY',
            of: [
              { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 5 },
              { type: 'ACTIVITY_SUM', activity: 'PURCHASE', sum: 99.5 },
            ],
          },
        ],
      } as const;
      const res = await stack.client.call('createEvent', {
        token: admin.token,
        body: {
          title: 'Summer',
          description: 'Reach level 30',
          startsAt: '2030-07-01T00:00:00+09:00',
          endsAt: '2030-08-01T00:00:00+09:00',
          timezone: 'Europe/Paris',
          condition,
          approval: 'MANUAL',
          repeat: 'WEEKLY',
          status: 'ACTIVE',
        },
      });
      expect(res.status).toBe(201);
      expect(res.body.event).toEqual({
        id: expect.any(String),
        title: 'Summer',
        description: 'Reach level 30',
        startsAt: '2030-06-30T15:00:00.000Z',
        endsAt: '2030-07-31T15:00:00.000Z',
        timezone: 'Europe/Paris',
        status: 'ACTIVE',
        condition,
        approval: 'MANUAL',
        repeat: 'WEEKLY',
        locked: false,
        createdBy: admin.id,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        rewards: [],
      });
      const got = await stack.client.call('getEvent', { token: player.token, params: { id: res.body.event.id } });
      expect(got.status).toBe(200);
      expect(got.body.event).toEqual(res.body.event);
    });

    it('accepts conditions nested exactly 4 deep and exactly 32 nodes', async () => {
      const leaf = { type: 'LOGIN_DAYS', days: 1 };
      const deep = { type: 'ALL', of: [{ type: 'ANY', of: [{ type: 'ALL', of: [leaf] }] }] };
      // 1 + 3 + 27 + 1 = 32 nodes
      const big = {
        type: 'ALL',
        of: [...Array.from({ length: 3 }, () => ({ type: 'ANY', of: Array.from({ length: 9 }, () => leaf) })), leaf],
      };
      for (const condition of [deep, big]) {
        const res = await stack.client.call('createEvent', {
          token: operator.token,
          body: { title: 't', ...window(), condition },
        });
        expect(res.status).toBe(201);
        expect(res.body.event.condition).toEqual(condition);
      }
    });

    const leaf = { type: 'LOGIN_DAYS', days: 1 };
    it.each([
      [
        'endsAt before startsAt',
        () => ({ ...window(), startsAt: window().endsAt, endsAt: window().startsAt }),
        [{ path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' }],
      ],
      [
        'endsAt equal to startsAt',
        () => ({ startsAt: '2030-01-01T00:00:00Z', endsAt: '2030-01-01T09:00:00+09:00' }),
        [{ path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' }],
      ],
      [
        'an unknown time zone',
        () => ({ timezone: 'Mars/Olympus_Mons' }),
        [{ path: 'timezone', code: 'custom', message: 'must be an IANA time zone such as Asia/Seoul' }],
      ],
      // ICU still knows this retired name; the database's tzdata does not, and counts days with it.
      [
        'a time zone only ICU knows',
        () => ({ timezone: 'US/Pacific-New' }),
        [{ path: 'timezone', code: 'custom', message: 'must be an IANA time zone such as Asia/Seoul' }],
      ],
      [
        'a condition with the wrong fields',
        () => ({ condition: { type: 'LOGIN_STREAK', count: 3 } }),
        [{ path: 'condition', code: 'invalid_union', message: 'Invalid input' }],
      ],
      [
        'an unknown condition type',
        () => ({ condition: { type: 'WIN_GAMES', count: 3 } }),
        [{ path: 'condition', code: 'invalid_union', message: 'Invalid input' }],
      ],
      [
        'a zero-day streak',
        () => ({ condition: { type: 'LOGIN_STREAK', days: 0 } }),
        [{ path: 'condition.days', code: 'too_small', message: 'Too small: expected number to be >=1' }],
      ],
      [
        'ALL of nothing',
        () => ({ condition: { type: 'ALL', of: [] } }),
        [{ path: 'condition.of', code: 'too_small', message: 'Too small: expected array to have >=1 items' }],
      ],
      [
        'nesting 5 deep',
        () => ({
          condition: { type: 'ALL', of: [{ type: 'ANY', of: [{ type: 'ALL', of: [{ type: 'ANY', of: [leaf] }] }] }] },
        }),
        [{ path: 'condition', code: 'custom', message: 'conditions nest at most 4 deep' }],
      ],
      [
        '33 nodes',
        () => ({
          condition: {
            type: 'ALL',
            of: Array.from({ length: 4 }, () => ({ type: 'ANY', of: Array.from({ length: 7 }, () => leaf) })),
          },
        }),
        [{ path: 'condition', code: 'custom', message: 'a condition has at most 32 nodes' }],
      ],
      [
        'an unknown field',
        () => ({ priority: 1 }),
        [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "priority"' }],
      ],
      [
        'creating straight into PAUSED',
        () => ({ status: 'PAUSED' }),
        [{ path: 'status', code: 'invalid_value', message: 'Invalid option: expected one of "DRAFT"|"ACTIVE"' }],
      ],
      [
        'an empty title',
        () => ({ title: '   ' }),
        [{ path: 'title', code: 'too_small', message: 'Too small: expected string to have >=1 characters' }],
      ],
      [
        'a start without an offset',
        () => ({ startsAt: window().startsAt.slice(0, 19) }),
        [{ path: 'startsAt', code: 'invalid_format', message: 'Invalid ISO datetime' }],
      ],
      [
        'an unknown approval mode',
        () => ({ approval: 'LATER' }),
        [{ path: 'approval', code: 'invalid_value', message: 'Invalid option: expected one of "AUTO"|"MANUAL"' }],
      ],
    ])('rejects %s with 400 VALIDATION_FAILED', async (_name, patch, details) => {
      const res = await stack.client.call('createEvent', {
        token: operator.token,
        body: { title: 'Bad', ...window(), condition: leaf, ...patch() },
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validationError(details));
    });

    it('rejects a NUL character in text fields with 400, not 500', async () => {
      const res = await stack.client.call('createEvent', {
        token: operator.token,
        body: { title: 'a\u0000b', ...window(), condition: leaf },
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(
        validationError([{ path: 'title', code: 'invalid_format', message: 'must not contain the NUL character' }]),
      );
      // Without the check the text column would silently store U+FFFD instead.
      const surrogate = await stack.client.call('createEvent', {
        token: operator.token,
        body: { title: 'a\ud800b', description: 'x\udfff', ...window(), condition: leaf },
      });
      expect(surrogate.status).toBe(400);
      expect(surrogate.body).toEqual(
        validationError([
          { path: 'title', code: 'invalid_format', message: 'must be well-formed Unicode (no lone surrogates)' },
          { path: 'description', code: 'invalid_format', message: 'must be well-formed Unicode (no lone surrogates)' },
        ]),
      );
    });

    it('is for OPERATOR and ADMIN only', async () => {
      const body = { title: 'Nope', ...window(), condition: leaf };
      for (const who of [player, auditor]) {
        const res = await stack.client.call('createEvent', { token: who.token, body });
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, ADMIN'));
      }
      const anonymous = await stack.client.call('createEvent', { body });
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toEqual(errorBody('UNAUTHENTICATED'));
      const badToken = await stack.client.call('createEvent', { body, token: 'not.a.token' });
      expect(badToken.status).toBe(401);
      expect(badToken.body.error.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('GET /events and /events/{id}', () => {
    let draft: Event;
    let active: Event;
    let paused: Event;

    beforeAll(async () => {
      [draft, active, paused] = await Promise.all([
        createEvent(stack, operator.token, leaf(), { status: 'DRAFT', title: 'draft' }),
        createEvent(stack, operator.token, leaf(), { title: 'active' }),
        createEvent(stack, operator.token, leaf(), { title: 'paused' }),
      ]);
      const res = await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: paused.id },
        body: { status: 'PAUSED' },
      });
      expect(res.status).toBe(200);
      paused = res.body.event;
    });
    function leaf() {
      return { type: 'LOGIN_DAYS', days: 1 } as const;
    }

    it('staff see drafts; players get 404 for them', async () => {
      for (const who of [operator, auditor, admin]) {
        const res = await stack.client.call('getEvent', { token: who.token, params: { id: draft.id } });
        expect(res.status).toBe(200);
        expect(res.body.event).toEqual({ ...draft, rewards: [] });
      }
      const asPlayer = await stack.client.call('getEvent', { token: player.token, params: { id: draft.id } });
      expect(asPlayer.status).toBe(404);
      expect(asPlayer.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));
      const rewards = await stack.client.call('listRewards', { token: player.token, params: { id: draft.id } });
      expect(rewards.status).toBe(404);
      const progress = await stack.client.call('progress', { token: player.token, params: { id: draft.id } });
      expect(progress.status).toBe(404);
      const visible = await stack.client.call('getEvent', { token: player.token, params: { id: active.id } });
      expect(visible.status).toBe(200);
      expect(visible.body.event).toEqual({ ...active, rewards: [] });
    });

    it('404 for an unknown event, 400 for a malformed id', async () => {
      const unknown = await stack.client.call('getEvent', { token: operator.token, params: { id: randomUUID() } });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));
      const malformed = await stack.client.call('getEvent', { token: operator.token, params: { id: 'event-1' } });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual(
        validationError([{ path: 'id', code: 'invalid_format', message: 'Invalid UUID' }]),
      );
      const anonymous = await stack.client.call('getEvent', { params: { id: active.id } });
      expect(anonymous.status).toBe(401);
    });

    it('the list hides drafts from players, and filters by status', async () => {
      const all = async (token: string, status?: string) =>
        (await walk((cursor) => stack.client.call('listEvents', { token, query: { limit: 100, cursor, status } }), 100))
          .items;
      const staffView = await all(operator.token);
      const playerView = await all(player.token);
      expect(staffView.map((e) => e.id)).toContain(draft.id);
      expect(playerView.filter((e) => e.status === 'DRAFT')).toEqual([]);
      expect(playerView).toEqual(staffView.filter((e) => e.status !== 'DRAFT'));
      expect(playerView.map((e) => e.id)).toEqual(expect.arrayContaining([active.id, paused.id]));
      expect(await all(player.token, 'DRAFT')).toEqual([]);
      const drafts = await all(operator.token, 'DRAFT');
      expect(drafts.length).toBeGreaterThan(0);
      expect(drafts.every((e) => e.status === 'DRAFT')).toBe(true);
      expect(drafts.map((e) => e.id)).toContain(draft.id);
      const pausedList = await all(player.token, 'PAUSED');
      const { rewards: _rewards, ...pausedInList } = paused;
      expect(pausedList.every((e) => e.status === 'PAUSED')).toBe(true);
      expect(pausedList).toContainEqual(pausedInList);
    });

    it('walks every event with limit=2: newest first, no overlap, no gap', async () => {
      // Created concurrently, so several share a creation instant down to the millisecond or close to it.
      await Promise.all(
        Array.from({ length: 9 }, (_, i) => createEvent(stack, operator.token, leaf(), { title: `bulk ${i}` })),
      );
      const everything = await stack.client.call('listEvents', { token: operator.token, query: { limit: 100 } });
      expect(everything.status).toBe(200);
      expect(everything.body.nextCursor).toBeNull();
      const { items, pages } = await walk(
        (cursor) => stack.client.call('listEvents', { token: operator.token, query: { limit: 2, cursor } }),
        2,
      );
      expect(items.map((e) => e.id)).toEqual(everything.body.items.map((e) => e.id));
      expect(new Set(items.map((e) => e.id)).size).toBe(items.length);
      expect(pages).toBe(Math.ceil(items.length / 2));
      const created = items.map((e) => Date.parse(e.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));

      const playerWalk = await walk(
        (cursor) => stack.client.call('listEvents', { token: player.token, query: { limit: 2, cursor } }),
        2,
      );
      expect(playerWalk.items.map((e) => e.id)).toEqual(
        everything.body.items.filter((e) => e.status !== 'DRAFT').map((e) => e.id),
      );
    });

    it('rejects bad list parameters', async () => {
      const cases: [Record<string, string | number>, unknown][] = [
        [{ limit: 0 }, [{ path: 'limit', code: 'too_small', message: 'Too small: expected number to be >=1' }]],
        [{ limit: 101 }, [{ path: 'limit', code: 'too_big', message: 'Too big: expected number to be <=100' }]],
        [
          { status: 'LIVE' },
          [
            {
              path: 'status',
              code: 'invalid_value',
              message: 'Invalid option: expected one of "DRAFT"|"ACTIVE"|"PAUSED"|"ENDED"',
            },
          ],
        ],
        [{ cursor: 'garbage' }, [{ path: 'cursor', code: 'invalid', message: 'Unknown cursor' }]],
        [{ sort: 'title' }, [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "sort"' }]],
      ];
      for (const [query, details] of cases) {
        const res = await stack.client.call('listEvents', { token: player.token, query });
        expect(res.status, JSON.stringify(query)).toBe(400);
        expect(res.body).toEqual(validationError(details));
      }
    });
  });

  describe('PATCH /events/{id}', () => {
    const patch = (id: string, body: unknown, token = operator.token) =>
      stack.client.call('updateEvent', { token, params: { id }, body });

    it('moves DRAFT → ACTIVE ⇄ PAUSED → ENDED, and refuses moves back', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1, { status: 'DRAFT' });
      const refusal = (from: string, to: string) =>
        errorBody('INVALID_STATE', `An event cannot move from ${from} to ${to}`);

      expect((await patch(event.id, { status: 'PAUSED' })).body).toEqual(refusal('DRAFT', 'PAUSED'));
      expect((await patch(event.id, { status: 'ENDED' })).body).toEqual(refusal('DRAFT', 'ENDED'));
      for (const [status, code] of [
        ['ACTIVE', 200],
        ['PAUSED', 200],
        ['ACTIVE', 200],
        ['PAUSED', 200],
      ] as const) {
        const res = await patch(event.id, { status });
        expect(res.status).toBe(code);
        expect(res.body.event.status).toBe(status);
      }
      const back = await patch(event.id, { status: 'DRAFT' });
      expect(back.status).toBe(409);
      expect(back.body).toEqual(refusal('PAUSED', 'DRAFT'));
      const ended = await patch(event.id, { status: 'ENDED' });
      expect(ended.status).toBe(200);
      expect(ended.body.event.status).toBe('ENDED');
      for (const to of ['ACTIVE', 'PAUSED', 'DRAFT']) {
        const res = await patch(event.id, { status: to });
        expect(res.status).toBe(409);
        expect(res.body).toEqual(refusal('ENDED', to));
      }
      const got = await stack.client.call('getEvent', { token: operator.token, params: { id: event.id } });
      expect(got.body.event.status).toBe('ENDED');

      const active = await createEvent(stack, operator.token, LOGIN_DAYS_1);
      const toDraft = await patch(active.id, { status: 'DRAFT' });
      expect(toDraft.status).toBe(409);
      expect(toDraft.body).toEqual(refusal('ACTIVE', 'DRAFT'));
      const straightToEnd = await patch(active.id, { status: 'ENDED' });
      expect(straightToEnd.status).toBe(200);
      expect(straightToEnd.body.event.status).toBe('ENDED');
    });

    it('changes the given fields and nothing else', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1, { status: 'DRAFT', description: 'old' });
      const res = await patch(event.id, {
        title: 'New title',
        description: null,
        approval: 'MANUAL',
        endsAt: '2040-01-01T00:00:00+09:00',
      });
      expect(res.status).toBe(200);
      expect(res.body.event).toEqual({
        ...event,
        title: 'New title',
        description: null,
        approval: 'MANUAL',
        endsAt: '2039-12-31T15:00:00.000Z',
        updatedAt: expect.any(String),
        rewards: [],
      });
      expect(Date.parse(res.body.event.updatedAt)).toBeGreaterThanOrEqual(Date.parse(event.updatedAt));
    });

    it('validates: at least one field, the window, the condition, the time zone, no unknown fields', async () => {
      let event = await createEvent(stack, operator.token, LOGIN_DAYS_1, { status: 'DRAFT' });
      const empty = await patch(event.id, {});
      expect(empty.status).toBe(400);
      expect(empty.body).toEqual(
        validationError([{ path: '', code: 'custom', message: 'send at least one field to change' }]),
      );
      const endsBeforeStart = await patch(event.id, {
        endsAt: new Date(Date.parse(event.startsAt) - 1000).toISOString(),
      });
      expect(endsBeforeStart.status).toBe(400);
      expect(endsBeforeStart.body).toEqual(
        validationError([{ path: 'endsAt', code: 'custom', message: 'endsAt must be after startsAt' }]),
      );
      const badCondition = await patch(event.id, { condition: { type: 'INVITE_COUNT', count: 0 } });
      expect(badCondition.status).toBe(400);
      expect(badCondition.body).toEqual(
        validationError([
          { path: 'condition.count', code: 'too_small', message: 'Too small: expected number to be >=1' },
        ]),
      );
      const retiredZone = await patch(event.id, { timezone: 'US/Pacific-New' });
      expect(retiredZone.status).toBe(400);
      expect(retiredZone.body).toEqual(
        validationError([
          { path: 'timezone', code: 'custom', message: 'must be an IANA time zone such as Asia/Seoul' },
        ]),
      );
      const otherZone = await patch(event.id, { timezone: 'America/Ciudad_Juarez' });
      expect(otherZone.status).toBe(200);
      expect(otherZone.body.event.timezone).toBe('America/Ciudad_Juarez');
      event = otherZone.body.event;
      const unknownField = await patch(event.id, { title: 'x', locked: false });
      expect(unknownField.status).toBe(400);
      expect(unknownField.body).toEqual(
        validationError([{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "locked"' }]),
      );
      const unchanged = await stack.client.call('getEvent', { token: operator.token, params: { id: event.id } });
      const { rewards: _rewards, ...withoutRewards } = event;
      expect(unchanged.body.event).toEqual({ ...withoutRewards, rewards: [] });
    });

    it('is for OPERATOR and ADMIN; 404 for an unknown event', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1);
      for (const who of [player, auditor]) {
        const res = await patch(event.id, { title: 'x' }, who.token);
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, ADMIN'));
      }
      const byAdmin = await patch(event.id, { title: 'by admin' }, admin.token);
      expect(byAdmin.status).toBe(200);
      const unknown = await patch(randomUUID(), { title: 'x' });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));
    });

    it('freezes condition, repeat and timezone once a claim exists; the title may still change', async () => {
      const event = await createEvent(stack, operator.token, { type: 'LOGIN_DAYS', days: 5 });
      const before = await patch(event.id, { condition: { type: 'LOGIN_DAYS', days: 4 } });
      expect(before.status).toBe(200);
      expect(before.body.event).toMatchObject({ condition: { type: 'LOGIN_DAYS', days: 4 }, locked: false });

      const claim = await stack.client.call('createClaim', { token: player.token, params: { id: event.id } });
      expect(claim.status).toBe(201);
      expect(claim.body.claim).toMatchObject({ status: 'REJECTED', reason: 'CONDITION_NOT_MET' });

      const condition = await patch(event.id, { condition: { type: 'LOGIN_DAYS', days: 1 } });
      expect(condition.status).toBe(409);
      expect(condition.body).toEqual(
        errorBody('EVENT_LOCKED', 'Claims exist: condition can no longer change', { fields: ['condition'] }),
      );
      const repeat = await patch(event.id, { repeat: 'DAILY', title: 'ignored' });
      expect(repeat.status).toBe(409);
      expect(repeat.body).toEqual(
        errorBody('EVENT_LOCKED', 'Claims exist: repeat can no longer change', { fields: ['repeat'] }),
      );
      const timezone = await patch(event.id, { timezone: 'UTC' });
      expect(timezone.status).toBe(409);
      expect(timezone.body).toEqual(
        errorBody('EVENT_LOCKED', 'Claims exist: timezone can no longer change', { fields: ['timezone'] }),
      );

      const sameValues = await patch(event.id, {
        condition: { days: 4, type: 'LOGIN_DAYS' },
        repeat: 'NONE',
        timezone: 'Asia/Seoul',
        title: 'Renamed',
      });
      expect(sameValues.status).toBe(200);
      expect(sameValues.body.event).toMatchObject({
        title: 'Renamed',
        condition: { type: 'LOGIN_DAYS', days: 4 },
        repeat: 'NONE',
        locked: true,
      });
      const paused = await patch(event.id, { status: 'PAUSED', description: 'on hold' });
      expect(paused.status).toBe(200);
      expect(paused.body.event).toMatchObject({ status: 'PAUSED', description: 'on hold', locked: true });
      const got = await stack.client.call('getEvent', { token: player.token, params: { id: event.id } });
      expect(got.body.event).toMatchObject({
        title: 'Renamed',
        condition: { type: 'LOGIN_DAYS', days: 4 },
        repeat: 'NONE',
        timezone: 'Asia/Seoul',
        locked: true,
      });
    });
  });

  describe('rewards', () => {
    it('creates rewards with and without stock; GET /events/{id} and /rewards list them in order', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1, { status: 'DRAFT' });
      const point = await stack.client.call('createReward', {
        token: operator.token,
        params: { id: event.id },
        body: { type: 'POINT', name: ' Points ', quantity: 100 },
      });
      expect(point.status).toBe(201);
      expect(point.body).toEqual({
        reward: {
          id: expect.any(String),
          eventId: event.id,
          type: 'POINT',
          name: 'Points',
          itemCode: null,
          quantity: 100,
          stock: null,
          remaining: null,
          createdAt: expect.any(String),
        },
      });
      const item = await stack.client.call('createReward', {
        token: admin.token,
        params: { id: event.id },
        body: { type: 'ITEM', name: 'Sword', itemCode: 'SWORD_01', quantity: 2, stock: 10 },
      });
      expect(item.status).toBe(201);
      expect(item.body.reward).toEqual({
        id: expect.any(String),
        eventId: event.id,
        type: 'ITEM',
        name: 'Sword',
        itemCode: 'SWORD_01',
        quantity: 2,
        stock: 10,
        remaining: 10,
        createdAt: expect.any(String),
      });
      const coupon = await createReward(stack, operator.token, event.id, {
        type: 'COUPON',
        name: 'Coupon',
        quantity: 1,
        stock: 1,
      });
      const currency = await createReward(stack, operator.token, event.id, {
        type: 'CURRENCY',
        name: 'Gems',
        quantity: 5,
        stock: null,
      });
      expect(currency).toMatchObject({ stock: null, remaining: null });

      const expected = [point.body.reward, item.body.reward, coupon, currency];
      const list = await stack.client.call('listRewards', { token: auditor.token, params: { id: event.id } });
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ items: expected });
      const got = await stack.client.call('getEvent', { token: operator.token, params: { id: event.id } });
      expect(got.body.event.rewards).toEqual(expected);

      const activate = await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: event.id },
        body: { status: 'ACTIVE' },
      });
      expect(activate.body.event.rewards).toEqual(expected);
      const asPlayer = await stack.client.call('listRewards', { token: player.token, params: { id: event.id } });
      expect(asPlayer.body).toEqual({ items: expected });
    });

    it.each([
      [
        'quantity 0',
        { type: 'POINT', name: 'p', quantity: 0 },
        [{ path: 'quantity', code: 'too_small', message: 'Too small: expected number to be >=1' }],
      ],
      [
        'a fractional quantity',
        { type: 'POINT', name: 'p', quantity: 1.5 },
        [{ path: 'quantity', code: 'invalid_type', message: 'Invalid input: expected int, received number' }],
      ],
      [
        'stock below the quantity',
        { type: 'ITEM', name: 'p', quantity: 5, stock: 4 },
        [{ path: 'stock', code: 'custom', message: 'stock must cover at least one claim (stock >= quantity)' }],
      ],
      [
        'stock 0',
        { type: 'ITEM', name: 'p', quantity: 1, stock: 0 },
        [
          { path: 'stock', code: 'too_small', message: 'Too small: expected number to be >=1' },
          { path: 'stock', code: 'custom', message: 'stock must cover at least one claim (stock >= quantity)' },
        ],
      ],
      [
        'an unknown type',
        { type: 'BADGE', name: 'p', quantity: 1 },
        [
          {
            path: 'type',
            code: 'invalid_value',
            message: 'Invalid option: expected one of "POINT"|"ITEM"|"COUPON"|"CURRENCY"',
          },
        ],
      ],
      [
        'an unknown field',
        { type: 'POINT', name: 'p', quantity: 1, remaining: 3 },
        [{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "remaining"' }],
      ],
      [
        'a NUL in the name',
        { type: 'POINT', name: 'p\u0000', quantity: 1 },
        [{ path: 'name', code: 'invalid_format', message: 'must not contain the NUL character' }],
      ],
    ])('rejects %s with 400 VALIDATION_FAILED', async (_name, body, details) => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1, { status: 'DRAFT' });
      const res = await stack.client.call('createReward', { token: operator.token, params: { id: event.id }, body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(validationError(details));
      const list = await stack.client.call('listRewards', { token: operator.token, params: { id: event.id } });
      expect(list.body).toEqual({ items: [] });
    });

    it('is for OPERATOR and ADMIN; 404 for an unknown event; 409 once the event has ended', async () => {
      const event = await createEvent(stack, operator.token, LOGIN_DAYS_1);
      const body = { type: 'POINT', name: 'p', quantity: 1 } as const;
      for (const who of [player, auditor]) {
        const res = await stack.client.call('createReward', { token: who.token, params: { id: event.id }, body });
        expect(res.status).toBe(403);
        expect(res.body).toEqual(errorBody('FORBIDDEN', 'Requires one of the roles: OPERATOR, ADMIN'));
      }
      const unknown = await stack.client.call('createReward', {
        token: operator.token,
        params: { id: randomUUID() },
        body,
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));
      const unknownList = await stack.client.call('listRewards', {
        token: operator.token,
        params: { id: randomUUID() },
      });
      expect(unknownList.status).toBe(404);
      expect(unknownList.body).toEqual(errorBody('NOT_FOUND', 'Event not found'));

      await stack.client.call('updateEvent', {
        token: operator.token,
        params: { id: event.id },
        body: { status: 'ENDED' },
      });
      const ended = await stack.client.call('createReward', { token: operator.token, params: { id: event.id }, body });
      expect(ended.status).toBe(409);
      expect(ended.body).toEqual(errorBody('INVALID_STATE', 'The event has ended'));
      const list = await stack.client.call('listRewards', { token: operator.token, params: { id: event.id } });
      expect(list.body).toEqual({ items: [] });
    });
  });
});
