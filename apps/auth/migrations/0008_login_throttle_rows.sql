-- Sign-in throttling keeps one row per (address, account) and one per address (email ''), holding the
-- recent failures and the attempts in flight, so an attempt is reserved by one conditional upsert on
-- those rows: the row lock the upsert takes orders parallel attempts, without advisory locks and
-- without counting an event table. Confirmed failures carry over; the window is applied when counting.
create table login_throttle (
  ip text not null,
  email text not null,
  failures timestamptz[] not null default '{}',
  pending timestamptz[] not null default '{}',
  primary key (ip, email)
);
--> statement-breakpoint
insert into login_throttle (ip, email, failures)
select ip, email, array_agg(at order by at) from login_failures where not pending group by ip, email
union all
select ip, '', array_agg(at order by at) from login_failures where not pending group by ip;
--> statement-breakpoint
drop table login_failures;
