-- Webhooks: endpoints decisions are pushed to, and the outbox of their messages. A message row is written
-- in the transaction of the decision it reports (none is lost); workers on every instance lease due rows
-- with `for update skip locked`, send them outside any transaction and record the outcome.
create table webhooks (
  id uuid primary key,
  url text not null,
  events text[] not null,
  description text,
  active boolean not null default true,
  -- Signs every message, so kept as is; shown once (create, rotate), never read back through the API.
  secret text not null,
  -- The secret before the last rotation: it signs beside the new one until previous_secret_until.
  previous_secret text,
  previous_secret_until timestamptz(3),
  created_by text not null,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  -- Deleted webhooks stay (their deliveries are history), marked, and are sent nothing more.
  deleted_at timestamptz(3)
);
--> statement-breakpoint
create index webhooks_listing_idx on webhooks (created_at desc, id desc) where deleted_at is null;
--> statement-breakpoint
-- The subscribers of a decision: the claim path's one statement reads this (a handful of rows).
create index webhooks_subscribed_idx on webhooks (id) include (events) where active and deleted_at is null;
--> statement-breakpoint
create table webhook_messages (
  message_id uuid not null,
  webhook_id uuid not null references webhooks (id),
  type text not null,
  -- The exact body of every attempt: {"type","timestamp","data"}.
  payload text not null,
  status text not null default 'PENDING' check (status in ('PENDING', 'DELIVERED', 'FAILED')),
  attempts integer not null default 0,
  next_attempt_at timestamptz(3),
  -- Set while an instance sends the message; a crashed instance's lease runs out and another sends it.
  lease_until timestamptz(3),
  last_attempt_at timestamptz(3),
  last_response_status integer,
  last_error text,
  delivered_at timestamptz(3),
  created_at timestamptz(3) not null default now(),
  primary key (webhook_id, message_id)
);
--> statement-breakpoint
-- The worker's query: per webhook, its due pending messages, oldest first.
create index webhook_messages_due_idx on webhook_messages (webhook_id, next_attempt_at) where status = 'PENDING';
--> statement-breakpoint
-- The outbox age gauge: the oldest pending message.
create index webhook_messages_pending_idx on webhook_messages (created_at) where status = 'PENDING';
--> statement-breakpoint
create index webhook_messages_listing_idx on webhook_messages (webhook_id, created_at desc, message_id desc);
--> statement-breakpoint
create index webhook_messages_status_idx on webhook_messages (webhook_id, status, created_at desc, message_id desc);
