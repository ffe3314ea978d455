import { z } from 'zod';
import { IsoDateTime, PageQuery, page } from './common.js';
import { ErrorBody } from './errors.js';

export const UpperSnake = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, 'must be UPPER_SNAKE_CASE');

export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return /^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz) || tz === 'UTC';
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Asia/Seoul');

const Count = z.number().int().min(1).max(1_000_000);

// ---- Conditions -------------------------------------------------------------------------------

export const LEAF_CONDITIONS = [
  'LOGIN_STREAK',
  'LOGIN_DAYS',
  'INVITE_COUNT',
  'LEVEL_REACHED',
  'ACTIVITY_COUNT',
  'ACTIVITY_SUM',
] as const;

const LoginStreak = z.object({ type: z.literal('LOGIN_STREAK'), days: z.number().int().min(1).max(366) }).strict();
const LoginDays = z.object({ type: z.literal('LOGIN_DAYS'), days: z.number().int().min(1).max(366) }).strict();
const InviteCount = z.object({ type: z.literal('INVITE_COUNT'), count: Count }).strict();
const LevelReached = z
  .object({ type: z.literal('LEVEL_REACHED'), level: z.number().int().min(1).max(1_000_000) })
  .strict();
const ActivityCount = z.object({ type: z.literal('ACTIVITY_COUNT'), activity: UpperSnake, count: Count }).strict();
const ActivitySum = z
  .object({ type: z.literal('ACTIVITY_SUM'), activity: UpperSnake, sum: z.number().positive().max(1e12) })
  .strict();

export type LeafCondition =
  | z.infer<typeof LoginStreak>
  | z.infer<typeof LoginDays>
  | z.infer<typeof InviteCount>
  | z.infer<typeof LevelReached>
  | z.infer<typeof ActivityCount>
  | z.infer<typeof ActivitySum>;
export type Condition = LeafCondition | { type: 'ALL' | 'ANY'; of: Condition[] };

export const CONDITION_MAX_DEPTH = 4;
export const CONDITION_MAX_NODES = 32;

const ConditionGroup = z
  .object({
    type: z.enum(['ALL', 'ANY']),
    // A getter: the group refers to the union it belongs to (Zod's way to a recursive schema).
    get of() {
      return z.array(ConditionNode).min(1).max(10);
    },
  })
  .strict()
  .meta({ id: 'ConditionGroup', description: 'ALL: every condition of `of` is met; ANY: at least one is' });

const ConditionNode: z.ZodType<Condition> = z
  .union([LoginStreak, LoginDays, InviteCount, LevelReached, ActivityCount, ActivitySum, ConditionGroup])
  .meta({
    id: 'Condition',
    description:
      'A leaf (LOGIN_STREAK, LOGIN_DAYS, INVITE_COUNT, LEVEL_REACHED, ACTIVITY_COUNT, ACTIVITY_SUM) or ALL/ANY of ' +
      `conditions, at most ${CONDITION_MAX_DEPTH} deep and ${CONDITION_MAX_NODES} nodes`,
    example: {
      type: 'ALL',
      of: [
        { type: 'LEVEL_REACHED', level: 30 },
        { type: 'ACTIVITY_COUNT', activity: 'QUEST_CLEARED', count: 5 },
      ],
    },
  });

function shape(c: Condition, depth = 1): { depth: number; nodes: number } {
  if (c.type !== 'ALL' && c.type !== 'ANY') return { depth, nodes: 1 };
  return c.of
    .map((x) => shape(x, depth + 1))
    .reduce((a, b) => ({ depth: Math.max(a.depth, b.depth), nodes: a.nodes + b.nodes }), { depth, nodes: 1 });
}

/** The condition language; nesting is bounded in depth and size. */
export const Condition = ConditionNode.superRefine((c, ctx) => {
  const s = shape(c);
  if (s.depth > CONDITION_MAX_DEPTH)
    ctx.addIssue({ code: 'custom', message: `conditions nest at most ${CONDITION_MAX_DEPTH} deep` });
  if (s.nodes > CONDITION_MAX_NODES)
    ctx.addIssue({ code: 'custom', message: `a condition has at most ${CONDITION_MAX_NODES} nodes` });
});

export interface ProgressNode {
  type: Condition['type'];
  required?: number;
  current?: number;
  met: boolean;
  of?: ProgressNode[];
}
export const ProgressNode: z.ZodType<ProgressNode> = z
  .object({
    type: z.string() as unknown as z.ZodType<Condition['type']>,
    required: z.number().optional(),
    current: z.number().optional(),
    met: z.boolean(),
    get of() {
      return z.array(ProgressNode).optional();
    },
  })
  .meta({
    id: 'ConditionProgress',
    description:
      'The condition evaluated for the caller: per node what is required, what counts so far, and whether it is met',
  });

// ---- Events and rewards -----------------------------------------------------------------------

export const EVENT_STATUSES = ['DRAFT', 'ACTIVE', 'PAUSED', 'ENDED'] as const;
export const EventStatus = z.enum(EVENT_STATUSES);
export type EventStatus = z.infer<typeof EventStatus>;
export const Approval = z.enum(['AUTO', 'MANUAL']);
export const Repeat = z.enum(['NONE', 'DAILY', 'WEEKLY']);
export const REWARD_TYPES = ['POINT', 'ITEM', 'COUPON', 'CURRENCY'] as const;
export const RewardType = z.enum(REWARD_TYPES);

export const Reward = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    type: RewardType,
    name: z.string(),
    itemCode: z.string().nullable(),
    quantity: z.number().int(),
    stock: z.number().int().nullable(),
    remaining: z.number().int().nullable(),
    createdAt: IsoDateTime,
  })
  .meta({ id: 'Reward' });
export type Reward = z.infer<typeof Reward>;

export const Event = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    startsAt: IsoDateTime,
    endsAt: IsoDateTime,
    timezone: z.string(),
    status: EventStatus,
    condition: Condition,
    approval: Approval,
    repeat: Repeat,
    locked: z
      .boolean()
      .describe('true once a claim exists: condition, repeat, timezone and existing rewards are frozen'),
    createdBy: z.string(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
  })
  .meta({ id: 'Event' });
/** An event with its rewards, as every single-event answer has it. */
export const EventDetail = Event.extend({ rewards: z.array(Reward) }).meta({ id: 'EventDetail' });
export type Event = z.infer<typeof Event> & { rewards?: Reward[] };
export type EventDetail = z.infer<typeof EventDetail>;
export const EventResponse = z.object({ event: EventDetail });

const eventFields = {
  title: z.string().trim().min(1).max(200),
  description: z.string().max(5000).nullable().optional(),
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  timezone: TimeZone.optional(),
  condition: Condition,
  approval: Approval.optional(),
  repeat: Repeat.optional(),
};

export const CreateEventBody = z
  .object({ ...eventFields, status: z.enum(['DRAFT', 'ACTIVE']).optional() })
  .strict()
  .refine((e) => Date.parse(e.endsAt) > Date.parse(e.startsAt), {
    path: ['endsAt'],
    message: 'endsAt must be after startsAt',
  });
export type CreateEventBody = z.infer<typeof CreateEventBody>;

export const UpdateEventBody = z
  .object({
    title: eventFields.title.optional(),
    description: eventFields.description,
    startsAt: IsoDateTime.optional(),
    endsAt: IsoDateTime.optional(),
    timezone: TimeZone.optional(),
    condition: Condition.optional(),
    approval: Approval.optional(),
    repeat: Repeat.optional(),
    status: EventStatus.optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');
export type UpdateEventBody = z.infer<typeof UpdateEventBody>;

export const EventsQuery = PageQuery.extend({ status: EventStatus.optional() }).strict();
export const EventList = page(Event);

export const CreateRewardBody = z
  .object({
    type: RewardType,
    name: z.string().trim().min(1).max(200),
    itemCode: z.string().trim().min(1).max(100).optional(),
    quantity: z.number().int().min(1).max(1_000_000),
    stock: z.number().int().min(1).max(1_000_000_000).nullable().optional(),
  })
  .strict()
  .refine((r) => r.stock == null || r.stock >= r.quantity, {
    path: ['stock'],
    message: 'stock must cover at least one claim (stock >= quantity)',
  });
export type CreateRewardBody = z.infer<typeof CreateRewardBody>;
export const RewardResponse = z.object({ reward: Reward });
export const RewardList = z.object({ items: z.array(Reward) });

// ---- Claims and grants ------------------------------------------------------------------------

export const ClaimStatus = z.enum(['PENDING', 'APPROVED', 'REJECTED']);
export type ClaimStatus = z.infer<typeof ClaimStatus>;
export const CLAIM_REASONS = ['CONDITION_NOT_MET', 'OUT_OF_STOCK', 'EVENT_NOT_ACTIVE', 'REJECTED_BY_OPERATOR'] as const;
export type ClaimReason = (typeof CLAIM_REASONS)[number];

export const RewardSnapshot = z.object({
  rewardId: z.uuid(),
  type: RewardType,
  name: z.string(),
  itemCode: z.string().nullable(),
  quantity: z.number().int(),
});
export type RewardSnapshot = z.infer<typeof RewardSnapshot>;

export const Claim = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    userId: z.uuid(),
    periodKey: z.string(),
    status: ClaimStatus,
    reason: z.enum(CLAIM_REASONS).nullable(),
    note: z.string().nullable(),
    rewards: z.array(RewardSnapshot),
    createdAt: IsoDateTime,
    decidedAt: IsoDateTime.nullable(),
    decidedBy: z.string().nullable(),
  })
  .meta({ id: 'Claim' });
export type Claim = z.infer<typeof Claim>;
export const ClaimResponse = z.object({ claim: Claim });

export const ClaimsQuery = PageQuery.extend({
  eventId: z.uuid().optional(),
  userId: z.uuid().optional(),
  status: ClaimStatus.optional(),
  from: IsoDateTime.optional(),
  to: IsoDateTime.optional(),
}).strict();
export type ClaimsQuery = z.infer<typeof ClaimsQuery>;
export const ClaimList = page(Claim);

export const RejectBody = z.object({ reason: z.string().trim().min(1).max(500) }).strict();

export const CLAIM_DECISIONS = ['APPROVE', 'REJECT'] as const;
export const ClaimDecisionBody = z
  .object({
    decision: z.enum(CLAIM_DECISIONS),
    ids: z.array(z.uuid()).min(1).max(100).meta({ description: 'The claims to decide, answered in this order' }),
    reason: RejectBody.shape.reason.optional().meta({ description: "Required to reject: the operator's note" }),
  })
  .strict()
  .refine((b) => b.decision !== 'REJECT' || b.reason !== undefined, {
    path: ['reason'],
    message: 'a reason is required to reject',
  });
export type ClaimDecisionBody = z.infer<typeof ClaimDecisionBody>;

/** One claim's outcome inside a bulk decision: what the single approve/reject route would have answered. */
export const ClaimDecisionResult = z
  .object({
    id: z.uuid(),
    status: z.union([z.literal(200), z.literal(403), z.literal(404), z.literal(409)]),
    claim: Claim.optional().meta({ description: 'The decided claim (status 200)' }),
    error: ErrorBody.shape.error
      .optional()
      .meta({ description: 'The error the single route would have answered (status 403, 404 or 409)' }),
  })
  .meta({ id: 'ClaimDecisionResult' });
export type ClaimDecisionResult = z.infer<typeof ClaimDecisionResult>;
export const ClaimDecisions = z.object({ results: z.array(ClaimDecisionResult) });
export type ClaimDecisions = z.infer<typeof ClaimDecisions>;

export const Grant = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    claimId: z.uuid(),
    eventId: z.uuid(),
    rewardId: z.uuid(),
    type: RewardType,
    name: z.string(),
    itemCode: z.string().nullable(),
    quantity: z.number().int(),
    grantedAt: IsoDateTime,
  })
  .meta({ id: 'Grant' });
export type Grant = z.infer<typeof Grant>;
export const GrantList = page(Grant);

export const GrantsFeedQuery = z
  .object({
    after: z
      .string()
      .min(1)
      .max(8192)
      .optional()
      .meta({
        description:
          'The `nextCursor` of the previous page (opaque). Without it the feed starts from the first grant ever ' +
          'committed. A reader that always sends back the last `nextCursor` sees every grant exactly once.',
      }),
    limit: PageQuery.shape.limit,
    userId: z.uuid().optional().meta({ description: "Only this player's grants" }),
  })
  .strict();
export type GrantsFeedQuery = z.infer<typeof GrantsFeedQuery>;
export const GrantsFeed = z.object({
  items: z.array(Grant),
  /** Never null: the position after the last grant returned, or the cursor given when nothing is new. */
  nextCursor: z.string(),
});

export const Progress = z.object({
  eventId: z.uuid(),
  eligible: z.boolean(),
  condition: ProgressNode,
  claim: Claim.nullable(),
});
export type Progress = z.infer<typeof Progress>;

const Tally = z.number().int().min(0);
export const EventStats = z
  .object({
    eventId: z.uuid(),
    claims: z.object({ PENDING: Tally, APPROVED: Tally, REJECTED: Tally }).meta({ description: 'Claims by status' }),
    reasons: z
      .object({
        CONDITION_NOT_MET: Tally,
        OUT_OF_STOCK: Tally,
        EVENT_NOT_ACTIVE: Tally,
        REJECTED_BY_OPERATOR: Tally,
      })
      .meta({ description: 'Rejected claims by reason' }),
    players: Tally.meta({ description: 'Distinct players who claimed (any outcome)' }),
    rewards: z.array(
      z.object({
        rewardId: z.uuid(),
        name: z.string(),
        stock: z.number().int().nullable(),
        remaining: z.number().int().nullable(),
        granted: Tally.meta({ description: 'Units granted (the quantity of every approved claim)' }),
      }),
    ),
  })
  .meta({ id: 'EventStats' });
export type EventStats = z.infer<typeof EventStats>;

// ---- Activities -------------------------------------------------------------------------------

/** How far ahead of the server's clock (at validation) a sender's `occurredAt` may lie: room for clock skew, no more. */
export const ACTIVITY_MAX_FUTURE_MS = 5 * 60_000;

/**
 * An instant at most ACTIVITY_MAX_FUTURE_MS ahead of now, read when the request is validated. A string
 * `Date.parse` cannot read is left to the format check, so it fails with one issue, not two.
 */
const NotFarFuture = IsoDateTime.refine(
  (at) => !(Date.parse(at) > Date.now() + ACTIVITY_MAX_FUTURE_MS),
  `must not be more than ${ACTIVITY_MAX_FUTURE_MS / 60_000} minutes in the future`,
).describe(
  `at most ${ACTIVITY_MAX_FUTURE_MS / 60_000} minutes ahead of the server's clock; past facts may be imported`,
);

const activityWith = <T extends z.ZodType<string>>(occurredAt: T) =>
  z
    .object({
      id: z.string().min(1).max(128),
      userId: z.uuid(),
      type: UpperSnake,
      occurredAt,
      value: z.number().finite().min(-1e15).max(1e15).optional(),
      attributes: z
        .record(z.string().max(64), z.unknown())
        .refine((a) => JSON.stringify(a).length <= 4096, 'attributes are at most 4 KB of JSON')
        .optional(),
    })
    .strict();

/** A fact a sender reports (POST /activities): a fact from the future would count towards conditions early. */
export const Activity = activityWith(NotFarFuture);
export type Activity = z.infer<typeof Activity>;
/** An activity as a sender writes it (`value` and `attributes` optional). */
export type ActivityInput = z.input<typeof Activity>;
export const ActivitiesBody = z.object({ activities: z.array(Activity).min(1).max(1000) }).strict();

/**
 * Facts the platform records itself (auth's logins and invitations, from its outbox), stamped by the
 * platform's own clock. No future bound: a refused batch would block the outbox behind it.
 */
export const PlatformActivitiesBody = z
  .object({ activities: z.array(activityWith(IsoDateTime)).min(1).max(1000) })
  .strict();
export type PlatformActivitiesBody = z.infer<typeof PlatformActivitiesBody>;
export const ActivitiesAccepted = z.object({ accepted: z.number().int(), duplicates: z.number().int() });

// ---- Audit ------------------------------------------------------------------------------------

export const AuditEntry = z
  .object({
    id: z.uuid(),
    actorId: z.string().nullable(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
    requestId: z.string().nullable(),
    at: IsoDateTime,
    hash: z.string(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;
export const AuditQuery = PageQuery.extend({
  actorId: z.string().min(1).max(128).optional(),
  action: z.string().min(1).max(64).optional(),
  from: IsoDateTime.optional(),
  to: IsoDateTime.optional(),
}).strict();
export type AuditQuery = z.infer<typeof AuditQuery>;
export const AuditList = page(AuditEntry);
export const AuditVerification = z.object({
  valid: z.boolean(),
  entries: z.number().int(),
  firstBrokenId: z.string().nullable(),
});

// ---- Service to service -----------------------------------------------------------------------

/** An audit entry another service hands to the event service's log (auth's role changes, API keys). */
export const AuditRecord = z.object({
  id: z.uuid(),
  actorId: z.string().max(128).nullable(),
  action: z.string().min(1).max(64),
  targetType: z.string().min(1).max(64),
  targetId: z.string().max(128).nullable(),
  before: z.unknown(),
  after: z.unknown(),
  requestId: z.string().max(128).nullable(),
  at: IsoDateTime,
});
export type AuditRecord = z.infer<typeof AuditRecord>;
export const AuditBatch = z.object({ entries: z.array(AuditRecord).min(1).max(500) });
export type AuditBatch = z.infer<typeof AuditBatch>;

/** An `Idempotency-Key`: 1 to 128 visible ASCII characters. */
export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, '1 to 128 visible ASCII characters')
  .meta({ description: 'Replays with the same key return the first response (kept at least 24 h)' });
export const ClaimHeaders = z.object({ 'Idempotency-Key': IdempotencyKey.optional() });
