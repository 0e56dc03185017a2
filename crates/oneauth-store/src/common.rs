//! What both backends share: how lists, states and client origins sit in
//! columns, and the SQL text that reads the same on both (`$N` parameters:
//! the SQLite store binds them by number too). Nothing here talks to a
//! database.

use crate::{Client, FlowState, IdentityState, Rotation, StoreError, StoreResult};

/// Space-delimited lists (scopes, amr) in one TEXT column.
pub(crate) fn join(list: &[String]) -> String {
    list.join(" ")
}

pub(crate) fn split(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

pub(crate) fn identity_state_from(state: &str) -> IdentityState {
    if state == "disabled" {
        IdentityState::Disabled
    } else {
        IdentityState::Active
    }
}

pub(crate) fn flow_state_from(state: &str) -> StoreResult<FlowState> {
    [
        FlowState::LoginPending,
        FlowState::LoginAccepted,
        FlowState::ConsentPending,
        FlowState::ConsentAccepted,
        FlowState::Done,
    ]
    .into_iter()
    .find(|s| s.as_str() == state)
    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown flow state {state}")))
}

/// The origins (RFC 6454 serialisation) of a client's redirect URIs;
/// private-use schemes have none.
pub(crate) fn client_origins(client: &Client) -> Vec<String> {
    let mut origins: Vec<String> = client
        .redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
        .map(|o| o.ascii_serialization())
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

/// What a refresh token's row showed when its rotation changed nothing.
pub(crate) struct RotationSeen {
    pub grant_id: String,
    pub used_at: Option<i64>,
    pub successor: Option<Vec<u8>>,
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
}

impl RotationSeen {
    /// Why the token did not rotate: a replay inside the grace window gets
    /// the sealed successor, a later one is a reuse.
    pub(crate) fn outcome(self, now: i64, grace_secs: i64) -> Rotation {
        match (self.used_at, self.successor) {
            _ if self.revoked_at.is_some() || self.expires_at <= now => Rotation::Invalid,
            (Some(used), Some(sealed)) if now - used <= grace_secs => Rotation::Replayed {
                sealed_successor: sealed,
            },
            (Some(_), _) => Rotation::Reused {
                grant_id: self.grant_id,
            },
            (None, _) => Rotation::Invalid,
        }
    }
}

/// Statements both stores run as they are.
pub(crate) mod sql {
    use crate::FlowKey;

    pub const INSERT_TOKEN: &str = "INSERT INTO tokens (hash, kind, grant_id, client_id, subject, scope, session_id, issued_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const GET_TOKEN: &str = "SELECT * FROM tokens
         WHERE hash = $1 AND kind = $2 AND revoked_at IS NULL AND expires_at > $3";
    /// A token with its subject's identity columns (no column names clash),
    /// which are all NULL for client tokens and when the identity is gone.
    pub const GET_TOKEN_WITH_IDENTITY: &str =
        "SELECT t.hash, t.grant_id, t.client_id, t.subject, t.scope, t.session_id,
                t.issued_at, t.expires_at, t.used_at, i.*
         FROM tokens t LEFT JOIN identities i ON i.id = t.subject
         WHERE t.hash = $1 AND t.kind = $2 AND t.revoked_at IS NULL AND t.expires_at > $3";
    /// The rotation's compare-and-swap.
    pub const USE_REFRESH: &str = "UPDATE tokens SET used_at = $2, successor = $3
         WHERE hash = $1 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2";
    pub const REVOKE_TOKEN: &str =
        "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL";
    pub const REVOKE_GRANT: &str =
        "UPDATE tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL";
    pub const INSERT_CODE: &str = "INSERT INTO authorization_codes (hash, grant_id, data, expires_at) VALUES ($1, $2, $3, $4)";
    pub const GET_UNUSED_CODE: &str =
        "SELECT data, expires_at FROM authorization_codes WHERE hash = $1 AND used_at IS NULL";
    /// The code's single-use compare-and-swap.
    pub const TAKE_CODE: &str =
        "UPDATE authorization_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL
         RETURNING data, expires_at";
    pub const MARK_CODE_REUSED: &str =
        "UPDATE authorization_codes SET reused_at = COALESCE(reused_at, $2)
         WHERE hash = $1 RETURNING grant_id";
    /// A live flow by one of its four hashes.
    pub fn get_flow(key: FlowKey) -> &'static str {
        match key {
            FlowKey::LoginChallenge => {
                "SELECT * FROM flows WHERE login_challenge_hash = $1 AND expires_at > $2"
            }
            FlowKey::LoginVerifier => {
                "SELECT * FROM flows WHERE login_verifier_hash = $1 AND expires_at > $2"
            }
            FlowKey::ConsentChallenge => {
                "SELECT * FROM flows WHERE consent_challenge_hash = $1 AND expires_at > $2"
            }
            FlowKey::ConsentVerifier => {
                "SELECT * FROM flows WHERE consent_verifier_hash = $1 AND expires_at > $2"
            }
        }
    }
    pub const INSERT_CLIENT: &str = "INSERT INTO clients (id, secret_hash, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)";
    pub const UPDATE_CLIENT: &str =
        "UPDATE clients SET secret_hash = $2, metadata = $3, updated_at = $4 WHERE id = $1";
    pub const INSERT_IDENTITY: &str = "INSERT INTO identities (id, email, phone, username, traits, state, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    pub const UPDATE_IDENTITY: &str =
        "UPDATE identities SET email = $2, phone = $3, username = $4, traits = $5,
         password_hash = $6, updated_at = $7
         WHERE id = $1";
    pub const INSERT_SESSION: &str =
        "INSERT INTO sessions (id, token_hash, identity_id, authenticated_at, amr, expires_at,
         user_agent, ip, last_used_at, second_factor_pending)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    /// Only when the last write is [`crate::SESSION_TOUCH_SECS`] old: one
    /// write per session every few minutes, not one per request.
    pub const TOUCH_SESSION: &str =
        "UPDATE sessions SET last_used_at = $2 WHERE id = $1 AND last_used_at <= $2 - $3";
    pub const INSERT_FLOW: &str =
        "INSERT INTO flows (id, login_challenge_hash, login_verifier_hash, consent_challenge_hash,
         consent_verifier_hash, state, data, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const ADVANCE_FLOW: &str =
        "UPDATE flows SET login_verifier_hash = $2, consent_challenge_hash = $3,
         consent_verifier_hash = $4, state = $5, data = $6
         WHERE id = $1 AND state = $7";
    pub const UPSERT_CONSENT: &str = "INSERT INTO consents (identity_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (identity_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at";
    /// Every live session of an identity but the one kept ($3 may be NULL).
    pub const REVOKE_OTHER_SESSIONS: &str = "UPDATE sessions SET revoked_at = $2
         WHERE identity_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3";
    pub const REVOKE_SUBJECT_TOKENS: &str =
        "UPDATE tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at IS NULL";
    pub const GET_IDENTITY: &str = "SELECT * FROM identities WHERE id = $1";
    pub const GET_CLIENT: &str = "SELECT * FROM clients WHERE id = $1";
    pub const INSERT_EXTERNAL_IDENTITY: &str =
        "INSERT INTO external_identities (provider, subject, identity_id, created_at)
         VALUES ($1, $2, $3, $4)";
    pub const GET_EXTERNAL_IDENTITY: &str =
        "SELECT provider, subject, identity_id, created_at FROM external_identities
         WHERE provider = $1 AND subject = $2";
    pub const GET_BUDGET: &str = "SELECT * FROM budgets WHERE key = $1";
    /// A budget's first write; a row already there (another node's) wins.
    pub const INSERT_BUDGET: &str =
        "INSERT INTO budgets (key, version, count, window_start, last_at, locked_until, expires_at)
         VALUES ($1, COALESCE($2, 0) + 1, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING";
    /// The budget's compare-and-swap on its version.
    pub const UPDATE_BUDGET: &str =
        "UPDATE budgets SET version = $2 + 1, count = $3, window_start = $4,
             last_at = $5, locked_until = $6, expires_at = $7
         WHERE key = $1 AND version = $2";
    /// Adds $4 hits to a fixed-window counter (a new window starts over).
    pub const RATE_LIMIT_HIT: &str = "INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES ($1, $2, $4, $3)
         ON CONFLICT (key) DO UPDATE SET
             hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + $4 ELSE $4 END,
             window_start = excluded.window_start,
             expires_at = excluded.expires_at
         RETURNING hits";
}
