-- A login replacing a session records the replaced one's id in the same upsert (PostgreSQL 15 has no
-- RETURNING old), so the revocation is written by the statement that opens the new session.
alter table sessions add column replaced_session_id uuid;
