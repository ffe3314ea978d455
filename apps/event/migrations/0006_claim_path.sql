-- The claim path in two statements (a read of the player's facts, then one write), on a definition of
-- the event cached in each instance and checked against the database in the write itself.

-- Every change to an event or to its rewards bumps the event's version: a cached definition is
-- valid while the version it was read at is still the event's.
alter table events add column version integer not null default 1;
--> statement-breakpoint
create function events_bump_version() returns trigger language plpgsql as $$
begin
  new.version := old.version + 1;
  return new;
end $$;
--> statement-breakpoint
create trigger events_version before update on events for each row execute function events_bump_version();
--> statement-breakpoint
create function rewards_bump_event_version() returns trigger language plpgsql as $$
begin
  update events set version = version + 1 where id = coalesce(new.event_id, old.event_id);
  return null;
end $$;
--> statement-breakpoint
create trigger rewards_event_version after insert or update or delete on rewards
  for each row execute function rewards_bump_event_version();
--> statement-breakpoint
-- Called by the claim's write statement before it writes anything. It holds the event's lock shared
-- until the claim commits (changes to frozen fields take it exclusively, see EventsService.update),
-- then checks the version with a snapshot of its own: a volatile function's query sees what committed
-- while it waited for the lock, which the calling statement's older snapshot would not.
create function claim_guard(p_event uuid, p_version integer) returns boolean language plpgsql volatile as $$
begin
  perform pg_advisory_xact_lock_shared(hashtext('event:' || p_event::text));
  return exists (select 1 from events where id = p_event and version = p_version);
end $$;
--> statement-breakpoint
-- Limited stock as several counters: a claim reserves from any one of them, so claims on one reward
-- do not all queue on one row's lock. The reward's remaining units are their sum; each counter
-- holds a multiple of the reward's quantity (the first also any units too few for one claim), so
-- the counters together grant exactly as many claims as one counter would.
create table reward_stock (
  reward_id uuid not null references rewards (id),
  shard smallint not null,
  remaining integer not null check (remaining >= 0),
  primary key (reward_id, shard)
);
--> statement-breakpoint
create function reward_stock_split(units integer, quantity integer, max_shards integer default 32)
returns table (shard smallint, remaining integer) language sql immutable as $$
  select i::smallint,
         ((units / quantity) / n + case when i < (units / quantity) % n then 1 else 0 end) * quantity
           + case when i = 0 then units % quantity else 0 end
  from (select greatest(1, least(max_shards, units / quantity)) as n) k, generate_series(0, k.n - 1) i
$$;
--> statement-breakpoint
insert into reward_stock (reward_id, shard, remaining)
select r.id, s.shard, s.remaining from rewards r, reward_stock_split(r.remaining, r.quantity) s
where r.stock is not null;
--> statement-breakpoint
alter table rewards drop column remaining;
--> statement-breakpoint
-- Events and webhooks are never deleted (an event ends, a webhook is marked deleted), and the claim
-- path checks the event exists in claim_guard. The keys' checks took a share lock on the one event
-- (or webhook) row for every claim (or message), which every concurrent claim then contended on.
alter table claims drop constraint claims_event_id_fkey;
--> statement-breakpoint
alter table webhook_messages drop constraint webhook_messages_webhook_id_fkey;
--> statement-breakpoint
-- Grants are only written from claim rows, in the statement that writes or approves the claim
-- (ClaimRepository's insertGrantsOf); the key's check cost a tenth of a claim's write.
alter table grants drop constraint grants_claim_id_fkey;
--> statement-breakpoint
-- A message is leased (attempts, lease times: no indexed column) before its outcome is written: with
-- room left on its page, the lease's new row version stays on the page and its five indexes are left alone.
alter table webhook_messages set (fillfactor = 80);
