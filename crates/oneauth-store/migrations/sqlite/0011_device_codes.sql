-- RFC 8628 device authorizations. Only keyed hashes of the device code and
-- the user code are stored. A row goes pending -> approved | denied, and
-- approved -> used when the device's poll takes its tokens; every write is a
-- compare-and-swap on version, so of two nodes polling at once one issues.
-- interval_secs grows on slow_down and is kept here, for every node.
CREATE TABLE device_codes (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash   TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    state            TEXT NOT NULL,
    subject          TEXT REFERENCES identities(id) ON DELETE CASCADE,
    session_id       TEXT,
    granted_scope    TEXT NOT NULL,
    amr              TEXT NOT NULL,
    auth_time        INTEGER,
    interval_secs    INTEGER NOT NULL,
    last_polled_at   INTEGER,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE INDEX device_codes_expiry ON device_codes(expires_at);
