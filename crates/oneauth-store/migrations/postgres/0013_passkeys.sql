-- Passkeys (WebAuthn credentials). `passkey` is webauthn-rs's serialised
-- Passkey (public key, signature counter, backup flags), rewritten after
-- each use; credential_id (base64url) is unique across identities, as
-- WebAuthn requires.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    identity_id   TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX passkeys_identity ON passkeys(identity_id);

-- WebAuthn ceremonies in progress (the challenge and what the library
-- keeps between its start and finish): taken (deleted) by their first
-- finish, so an assertion cannot be replayed, and any node can finish a
-- ceremony another started. identity_id is NULL for a passwordless login.
CREATE TABLE webauthn_ceremonies (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    identity_id TEXT REFERENCES identities(id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);
