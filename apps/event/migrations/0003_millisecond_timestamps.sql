-- The API speaks milliseconds: keyset cursors and `from`/`to` filters carry JavaScript dates.
-- With microseconds stored, a page cursor skipped rows sharing the millisecond of the previous
-- page's last row (every grant of one claim shares it), and `to=<a claim's createdAt>` left out
-- that very claim. Timestamps the API shows or pages on are stored at the precision it speaks.
alter table events alter column created_at type timestamptz(3), alter column updated_at type timestamptz(3);
--> statement-breakpoint
alter table rewards alter column created_at type timestamptz(3);
--> statement-breakpoint
alter table claims alter column created_at type timestamptz(3), alter column decided_at type timestamptz(3);
--> statement-breakpoint
alter table grants alter column granted_at type timestamptz(3);
--> statement-breakpoint
alter table audit_log alter column at type timestamptz(3);
