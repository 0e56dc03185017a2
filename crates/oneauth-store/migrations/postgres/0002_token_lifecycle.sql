-- Refresh-token rotation: when a refresh token was used, and its successor
-- pair sealed under the system secret for the short grace window in which a
-- replay (a retry, a racing tab) gets the same pair again.
ALTER TABLE tokens ADD COLUMN used_at BIGINT;
ALTER TABLE tokens ADD COLUMN successor BYTEA;

-- Registered post-logout redirect URIs, for logout redirects.
CREATE TABLE client_logout_uris (
    uri         TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    PRIMARY KEY (uri, client_id)
);

CREATE INDEX tokens_expiry ON tokens(expires_at);
CREATE INDEX codes_expiry ON authorization_codes(expires_at);
CREATE INDEX flows_expiry ON flows(expires_at);
CREATE INDEX sessions_expiry ON sessions(expires_at);
