-- App access tokens of mini-program platforms (WeChat's access_token), by
-- platform and app id: fetched by one node, used by every node until
-- expiry. Sealed under the system secret like signing keys. One row per
-- app, replaced at renewal: nothing for the cleanup to delete.
CREATE TABLE platform_tokens (
    key         TEXT PRIMARY KEY,
    sealed      BLOB NOT NULL,
    expires_at  INTEGER NOT NULL
);
