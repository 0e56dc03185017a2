-- Times are unix seconds. Tokens, codes, challenges and secrets are stored
-- only as hashes.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    alg         TEXT NOT NULL,
    sealed_key  BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT,
    metadata    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Origins of registered redirect URIs, for CORS and origin checks.
CREATE TABLE client_origins (
    origin      TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_id)
);

-- Identifiers are normalised (email and username lower case, phone E.164)
-- and unique when present.
CREATE TABLE identities (
    id          TEXT PRIMARY KEY,
    email       TEXT UNIQUE,
    phone       TEXT UNIQUE,
    username    TEXT UNIQUE,
    traits      TEXT NOT NULL,
    state       TEXT NOT NULL,
    password_hash TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    authenticated_at INTEGER NOT NULL,
    amr         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_identity ON sessions(identity_id);

-- Authorization requests and their login/consent steps.
CREATE TABLE flows (
    id                     TEXT PRIMARY KEY,
    login_challenge_hash   TEXT NOT NULL UNIQUE,
    login_verifier_hash    TEXT UNIQUE,
    consent_challenge_hash TEXT UNIQUE,
    consent_verifier_hash  TEXT UNIQUE,
    state       TEXT NOT NULL,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE consents (
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (identity_id, client_id)
);

CREATE TABLE authorization_codes (
    hash        TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Access and refresh tokens. grant_id ties every token of one login
-- (one code exchange and its refreshes) together, so reuse revokes them all.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    subject     TEXT,
    scope       TEXT NOT NULL,
    session_id  TEXT,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX tokens_grant ON tokens(grant_id);
CREATE INDEX tokens_subject ON tokens(subject);
