//! What mini-program login needs from storage beyond identities and their
//! links: the platforms' app access tokens, shared by every node, and the
//! merge of a mini-program identity into the identity of its phone number.
//! The SQL is the same on both backends.

use crate::StoreResult;
use async_trait::async_trait;

#[async_trait]
pub trait MiniProgramStore {
    /// The sealed app access token under `key` (platform and app id), if it
    /// expires after `now`.
    async fn get_platform_token(&self, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>>;
    /// Stores the sealed token under `key`, replacing any earlier one: the
    /// platform's newest token is the one that works.
    async fn put_platform_token(
        &self,
        key: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Moves every external link of identity `from` to `into` and deletes
    /// `from` with its sessions, consents and tokens, in one transaction:
    /// the person's upstream accounts then sign in to `into`, and nothing
    /// is left half-merged. False when `from` is unknown.
    async fn merge_identity(&self, from: &str, into: &str) -> StoreResult<bool>;
}

pub(crate) mod sql {
    pub const GET_PLATFORM_TOKEN: &str =
        "SELECT sealed FROM platform_tokens WHERE key = $1 AND expires_at > $2";
    pub const PUT_PLATFORM_TOKEN: &str = "INSERT INTO platform_tokens (key, sealed, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at";
    pub const MOVE_EXTERNAL_IDENTITIES: &str =
        "UPDATE external_identities SET identity_id = $2 WHERE identity_id = $1";
}
