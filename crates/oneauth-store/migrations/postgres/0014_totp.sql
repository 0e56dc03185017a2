-- TOTP second factors (RFC 6238): at most one secret per identity, sealed
-- under the system secret (AES-256-GCM, bound to the identity and the
-- secret's id). A secret is unconfirmed until its first code is shown;
-- an unconfirmed one is replaced by the next enrolment. last_step is the
-- newest 30-second step accepted: a code is accepted only for a later
-- step, by a compare-and-set, so a code counts once on any node.
CREATE TABLE totp_secrets (
    identity_id  TEXT PRIMARY KEY REFERENCES identities(id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    sealed       BYTEA NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Recovery codes: keyed hashes only (HMAC under a system key), each used
-- once (used_at set by a conditional update). A regeneration replaces the
-- identity's whole set.
CREATE TABLE recovery_codes (
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT,
    PRIMARY KEY (identity_id, code_hash)
);
