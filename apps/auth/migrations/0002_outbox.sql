-- Facts and audit entries for the event service, written in the same transaction as the change
-- they describe and delivered with retries; the receiver deduplicates, so redelivery is harmless.
create table outbox (
  id bigserial primary key,
  topic text not null check (topic in ('activity', 'audit')),
  payload jsonb not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  available_at timestamptz not null default now(),
  delivered_at timestamptz
);
--> statement-breakpoint
create index outbox_pending_idx on outbox (available_at, id) where delivered_at is null;
