-- A sign-in attempt reserves its row before the password is checked (pending), so parallel guesses
-- cannot all pass the throttle before any is recorded. A wrong password confirms the row as a failure;
-- a right one deletes it.
alter table login_failures add column pending boolean not null default false;
