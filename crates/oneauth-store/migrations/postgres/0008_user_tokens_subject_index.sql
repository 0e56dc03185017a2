-- Tokens are found by subject only to delete or revoke a user's tokens
-- (`subject = $1`, which the planner knows implies NOT NULL). Tokens with no
-- user (client_credentials) no longer cost an insert into this index each.
DROP INDEX tokens_subject;
CREATE INDEX tokens_subject ON tokens(subject) WHERE subject IS NOT NULL;
