-- The grants feed pages by the id of the transaction that wrote each grant and a per-row sequence,
-- and only ever returns grants of transactions older than the oldest one still running: a grant whose
-- transaction commits late lies after every cursor handed out before it committed (a sequence number
-- or timestamp taken inside the transaction could fall behind a reader's cursor and be skipped).
-- Existing grants all get this migration's transaction id, and a sequence in the order they were granted.
alter table grants add column tx_id bigint not null default (pg_current_xact_id()::text::bigint);
--> statement-breakpoint
alter table grants add column seq bigint;
--> statement-breakpoint
update grants set seq = ordered.n
from (select id, row_number() over (order by granted_at, id) as n from grants) as ordered
where grants.id = ordered.id;
--> statement-breakpoint
create sequence grants_seq_seq as bigint owned by grants.seq;
--> statement-breakpoint
select setval('grants_seq_seq', coalesce((select max(seq) from grants), 0) + 1, false);
--> statement-breakpoint
alter table grants alter column seq set default nextval('grants_seq_seq'), alter column seq set not null;
--> statement-breakpoint
create index grants_feed_idx on grants (tx_id, seq);
--> statement-breakpoint
create index grants_user_feed_idx on grants (user_id, tx_id, seq);
