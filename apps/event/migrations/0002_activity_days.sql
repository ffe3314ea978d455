-- Per-user daily counters in each time zone events use, so claim-time evaluation reads one row per
-- day of the window whatever the player's history. Fed from the 15-minute buckets: a new zone is
-- back-filled from them when the first event in it is created.
create table activity_zones (
  timezone text primary key,
  added_at timestamptz not null default now()
);
--> statement-breakpoint
insert into activity_zones (timezone) values ('Asia/Seoul');
--> statement-breakpoint
create table activity_days (
  user_id uuid not null,
  type text not null,
  timezone text not null,
  day date not null,
  count integer not null,
  sum double precision not null,
  primary key (user_id, type, timezone, day)
);
