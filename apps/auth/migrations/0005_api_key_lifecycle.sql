-- API keys get scopes, an optional expiry, the time they were last used and who revoked them.
alter table api_keys add column scopes text[] not null default '{activities:write}';
--> statement-breakpoint
alter table api_keys add column expires_at timestamptz;
--> statement-breakpoint
alter table api_keys add column last_used_at timestamptz;
--> statement-breakpoint
alter table api_keys add column revoked_by uuid;
--> statement-breakpoint
create index api_keys_created_at_idx on api_keys (created_at, id);
