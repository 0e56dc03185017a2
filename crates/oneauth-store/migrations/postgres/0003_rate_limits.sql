-- Fixed-window request counters shared by every node, so limits hold
-- cluster-wide. Keys are hashes (no identifiers or addresses in clear).
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX rate_limits_expiry ON rate_limits(expires_at);
