-- Registrations per client address, so one address cannot mint throwaway accounts (invite farming):
-- a registration counts the address's rows of the last hour under a lock on the address.
create table registrations (
  id bigserial primary key,
  ip text not null,
  at timestamptz not null default now()
);
--> statement-breakpoint
create index registrations_ip_idx on registrations (ip, at);
