-- One-time codes for login, verification and recovery. code_hash is an
-- HMAC under the system secret (a bare hash of six digits would fall to a
-- million guesses); only the newest code of a (purpose, address) counts.
CREATE TABLE one_time_codes (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    address     TEXT NOT NULL,
    identity_id TEXT REFERENCES identities(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX one_time_codes_address ON one_time_codes(purpose, address, created_at);
CREATE INDEX one_time_codes_expiry ON one_time_codes(expires_at);

-- The courier's outbox. The text is sealed (it carries codes); status is
-- queued, sent or abandoned.
CREATE TABLE courier_messages (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    template        TEXT NOT NULL,
    sealed          BYTEA NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_error      TEXT
);
CREATE INDEX courier_messages_due ON courier_messages(status, next_attempt_at);
