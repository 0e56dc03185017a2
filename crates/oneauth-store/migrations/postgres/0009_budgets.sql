-- Per-key budgets that need more than a counter: the send budget of an
-- address (cool-down and hourly cap, every message template) and its
-- failed-code budget (lock-outs that grow). Shared by every node; written
-- by compare-and-swap on version. Keys are hashes (no addresses in clear).
CREATE TABLE budgets (
    key          TEXT PRIMARY KEY,
    version      BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX budgets_expiry ON budgets(expires_at);
