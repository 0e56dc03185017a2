-- What a person's session list shows: the browser (User-Agent) and the
-- client IP at login, and when the session was last used (written at most
-- every few minutes, not on every request). Sessions from before know
-- neither; their last use starts at their login.
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_used_at = authenticated_at;
