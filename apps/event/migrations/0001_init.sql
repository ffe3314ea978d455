create table events (
  id uuid primary key,
  title text not null,
  description text,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  timezone text not null,
  status text not null check (status in ('DRAFT', 'ACTIVE', 'PAUSED', 'ENDED')),
  condition jsonb not null,
  approval text not null check (approval in ('AUTO', 'MANUAL')),
  repeat text not null check (repeat in ('NONE', 'DAILY', 'WEEKLY')),
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at > starts_at)
);
--> statement-breakpoint
create index events_listing_idx on events (created_at desc, id desc);
--> statement-breakpoint
create table rewards (
  id uuid primary key,
  event_id uuid not null references events (id),
  type text not null check (type in ('POINT', 'ITEM', 'COUPON', 'CURRENCY')),
  name text not null,
  item_code text,
  quantity integer not null check (quantity >= 1),
  stock integer check (stock >= 1),
  -- Units still grantable; a pending claim holds its units. Never negative, never above stock.
  remaining integer check (remaining >= 0 and remaining <= stock),
  created_at timestamptz not null default now(),
  check ((stock is null) = (remaining is null))
);
--> statement-breakpoint
create index rewards_event_idx on rewards (event_id, created_at);
--> statement-breakpoint
-- Facts, idempotent on (source, sender's id).
create table activities (
  source text not null,
  external_id text not null,
  user_id uuid not null,
  type text not null,
  occurred_at timestamptz not null,
  value double precision,
  attributes jsonb,
  received_at timestamptz not null default now(),
  primary key (source, external_id)
);
--> statement-breakpoint
create index activities_user_idx on activities (user_id, type, occurred_at);
--> statement-breakpoint
-- Per-user counters in 15-minute buckets: claim-time evaluation reads these, never the history.
create table activity_buckets (
  user_id uuid not null,
  type text not null,
  bucket timestamptz not null,
  count integer not null,
  sum double precision not null,
  primary key (user_id, type, bucket)
);
--> statement-breakpoint
create table activity_highs (
  user_id uuid not null,
  type text not null,
  value double precision not null,
  primary key (user_id, type)
);
--> statement-breakpoint
create table claims (
  id uuid primary key,
  user_id uuid not null,
  event_id uuid not null references events (id),
  period_key text not null,
  status text not null check (status in ('PENDING', 'APPROVED', 'REJECTED')),
  reason text,
  note text,
  rewards jsonb not null,
  created_at timestamptz not null default now(),
  decided_at timestamptz,
  decided_by text
);
--> statement-breakpoint
-- Exactly once: a second pending/approved claim for the same player, event and period fails here,
-- whichever instance inserts it.
create unique index claims_once_per_period on claims (user_id, event_id, period_key) where status in ('PENDING', 'APPROVED');
--> statement-breakpoint
create index claims_user_idx on claims (user_id, created_at desc, id desc);
--> statement-breakpoint
create index claims_event_idx on claims (event_id, created_at desc, id desc);
--> statement-breakpoint
create index claims_created_idx on claims (created_at desc, id desc);
--> statement-breakpoint
create table grants (
  id uuid primary key,
  user_id uuid not null,
  claim_id uuid not null references claims (id),
  event_id uuid not null,
  reward_id uuid not null,
  type text not null,
  name text not null,
  item_code text,
  quantity integer not null,
  granted_at timestamptz not null default now(),
  unique (claim_id, reward_id)
);
--> statement-breakpoint
create index grants_user_idx on grants (user_id, granted_at desc, id desc);
--> statement-breakpoint
create table idempotency_keys (
  user_id uuid not null,
  key text not null,
  event_id uuid not null,
  status integer,
  body jsonb,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);
--> statement-breakpoint
create index idempotency_keys_created_idx on idempotency_keys (created_at);
--> statement-breakpoint
create table audit_log (
  seq bigserial primary key,
  id uuid not null unique,
  actor_id text,
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  at timestamptz not null,
  prev_hash text not null,
  hash text not null
);
--> statement-breakpoint
create index audit_log_at_idx on audit_log (at desc, seq desc);
--> statement-breakpoint
create index audit_log_actor_idx on audit_log (actor_id, seq desc);
--> statement-breakpoint
create index audit_log_action_idx on audit_log (action, seq desc);
