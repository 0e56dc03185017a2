-- Social login: which identity an upstream account (provider id, the
-- provider's stable subject) logs in to. An upstream account links to one
-- identity; an identity may have several upstream accounts.
CREATE TABLE external_identities (
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX external_identities_identity ON external_identities(identity_id);
