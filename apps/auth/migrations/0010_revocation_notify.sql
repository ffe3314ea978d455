-- Readers of the revocation feed wait for this channel (auth answers their long poll when it moves)
-- instead of asking again and again. A row trigger: the session-opening statement's revocation CTE
-- often inserts nothing, and a statement trigger would notify for every login. Notifications of one
-- transaction are sent once, at its commit.
create function session_revocations_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('session_revocations', '');
  return null;
end
$$;
--> statement-breakpoint
create trigger session_revocations_notify after insert on session_revocations
  for each row execute function session_revocations_notify();
