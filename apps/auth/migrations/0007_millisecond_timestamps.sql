-- The API speaks milliseconds: the users and API-key lists page by keyset cursors carrying
-- JavaScript dates. With microseconds stored, a row sorts after the millisecond position its own
-- cursor carries, and the next page returns it again. Creation times the lists page on are kept at
-- the precision the API speaks: existing ones are cut to it, and new ones are written at it.
update users set created_at = date_trunc('milliseconds', created_at)
 where created_at <> date_trunc('milliseconds', created_at);
--> statement-breakpoint
alter table users alter column created_at set default date_trunc('milliseconds', now());
--> statement-breakpoint
update api_keys set created_at = date_trunc('milliseconds', created_at)
 where created_at <> date_trunc('milliseconds', created_at);
--> statement-breakpoint
alter table api_keys alter column created_at set default date_trunc('milliseconds', now());
