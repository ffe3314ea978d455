-- The revocation feed pages by the id of the transaction that wrote each row, bounded by the oldest
-- transaction still running: a revocation whose transaction commits late is still delivered, however
-- long it ran (a timestamp taken at the transaction's start could fall behind a reader's cursor).
alter table session_revocations add column tx_id bigint not null default (pg_current_xact_id()::text::bigint);
--> statement-breakpoint
create index session_revocations_tx_idx on session_revocations (tx_id, seq);
