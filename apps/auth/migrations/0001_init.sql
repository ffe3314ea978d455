create table users (
  id uuid primary key,
  email text not null,
  display_name text not null,
  password_hash text not null,
  roles text[] not null default '{USER}',
  invite_code text not null,
  invited_by uuid references users (id),
  created_at timestamptz not null default now(),
  constraint users_email_key unique (email),
  constraint users_invite_code_key unique (invite_code)
);
--> statement-breakpoint
create index users_created_at_idx on users (created_at, id);
--> statement-breakpoint
create index users_roles_idx on users using gin (roles);
--> statement-breakpoint
-- One row per user: a login replaces it atomically, so at most one session is current.
create table sessions (
  user_id uuid primary key references users (id),
  session_id uuid not null unique,
  created_at timestamptz not null default now()
);
--> statement-breakpoint
create table refresh_tokens (
  token_hash text primary key,
  session_id uuid not null,
  user_id uuid not null references users (id),
  used_at timestamptz,
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
--> statement-breakpoint
create index refresh_tokens_session_idx on refresh_tokens (session_id);
--> statement-breakpoint
-- Feed read by the gateway and services to refuse tokens of ended sessions.
create table session_revocations (
  seq bigserial primary key,
  session_id uuid not null,
  user_id uuid not null,
  reason text not null,
  revoked_at timestamptz not null default now()
);
--> statement-breakpoint
create index session_revocations_at_idx on session_revocations (revoked_at);
--> statement-breakpoint
create table signing_keys (
  kid text primary key,
  private_jwk jsonb not null,
  public_jwk jsonb not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);
--> statement-breakpoint
create table api_keys (
  id uuid primary key,
  name text not null,
  key_hash text not null unique,
  created_by uuid not null references users (id),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
--> statement-breakpoint
create table login_failures (
  id bigserial primary key,
  email text not null,
  ip text not null,
  at timestamptz not null default now()
);
--> statement-breakpoint
create index login_failures_email_idx on login_failures (email, at);
--> statement-breakpoint
create index login_failures_ip_idx on login_failures (ip, at);
