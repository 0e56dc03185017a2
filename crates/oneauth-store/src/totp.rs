//! What TOTP second factors and recovery codes need from storage: one
//! sealed secret per identity and its newest accepted step, and the
//! identity's recovery codes as keyed hashes. Every use is a conditional
//! update, so a code counts once even when two nodes see it at once. The
//! SQL is the same on both backends.

use crate::StoreResult;
use async_trait::async_trait;

/// An identity's TOTP secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpSecret {
    pub identity_id: String,
    /// Changes with each enrolment, so a confirmation cannot land on a
    /// secret that replaced the one it was computed from.
    pub id: String,
    /// The secret sealed under the system secret.
    pub sealed: Vec<u8>,
    /// `None` until a first code confirmed the enrolment.
    pub confirmed_at: Option<i64>,
    /// The newest 30-second step accepted (0 before any).
    pub last_step: i64,
    pub created_at: i64,
}

#[async_trait]
pub trait TotpStore {
    /// Stores an unconfirmed secret, replacing an unconfirmed one of the
    /// same identity; false (nothing written) when the identity has a
    /// confirmed secret.
    async fn put_totp_enrolment(&self, secret: &TotpSecret) -> StoreResult<bool>;
    async fn get_totp(&self, identity_id: &str) -> StoreResult<Option<TotpSecret>>;
    /// Accepts `step` of the secret `id`: sets `last_step` (and, when
    /// `confirming`, `confirmed_at = now`) only if the stored step is
    /// older and the secret is still unconfirmed (`confirming`) or
    /// confirmed (not). A compare-and-set: of concurrent calls with one
    /// step, one wins; false for the others and for a replayed step.
    async fn accept_totp_step(
        &self,
        identity_id: &str,
        id: &str,
        step: i64,
        confirming: bool,
        now: i64,
    ) -> StoreResult<bool>;
    /// False when the identity had no secret.
    async fn delete_totp(&self, identity_id: &str) -> StoreResult<bool>;
    /// Replaces every recovery code of the identity with `hashes`, in one
    /// transaction: old codes stop working when the new ones exist.
    async fn replace_recovery_codes(
        &self,
        identity_id: &str,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()>;
    /// Marks the unused code `hash` used; false when it is unknown or used
    /// already (of concurrent uses, one wins).
    async fn use_recovery_code(&self, identity_id: &str, hash: &str, now: i64)
    -> StoreResult<bool>;
    /// How many unused recovery codes the identity has.
    async fn recovery_codes_left(&self, identity_id: &str) -> StoreResult<i64>;
}

pub(crate) mod sql {
    pub const PUT_TOTP: &str =
        "INSERT INTO totp_secrets (identity_id, id, sealed, confirmed_at, last_step, created_at)
         VALUES ($1, $2, $3, NULL, $4, $5)
         ON CONFLICT (identity_id) DO UPDATE SET id = excluded.id, sealed = excluded.sealed,
             last_step = excluded.last_step, created_at = excluded.created_at
         WHERE totp_secrets.confirmed_at IS NULL";
    pub const GET_TOTP: &str = "SELECT * FROM totp_secrets WHERE identity_id = $1";
    pub const ACCEPT_STEP: &str = "UPDATE totp_secrets
         SET last_step = $3, confirmed_at = COALESCE(confirmed_at, $5)
         WHERE identity_id = $1 AND id = $2 AND last_step < $3 AND (confirmed_at IS NULL) = $4";
    pub const DELETE_TOTP: &str = "DELETE FROM totp_secrets WHERE identity_id = $1";
    pub const DELETE_RECOVERY: &str = "DELETE FROM recovery_codes WHERE identity_id = $1";
    pub const INSERT_RECOVERY: &str =
        "INSERT INTO recovery_codes (identity_id, code_hash, created_at) VALUES ($1, $2, $3)";
    pub const USE_RECOVERY: &str = "UPDATE recovery_codes SET used_at = $3
         WHERE identity_id = $1 AND code_hash = $2 AND used_at IS NULL";
    pub const COUNT_RECOVERY: &str =
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE identity_id = $1 AND used_at IS NULL";
}

/// The row as a record, for both backends.
pub(crate) fn totp_from(r: &impl crate::rows::Columns) -> StoreResult<TotpSecret> {
    Ok(TotpSecret {
        identity_id: r.col("identity_id")?,
        id: r.col("id")?,
        sealed: r.col("sealed")?,
        confirmed_at: r.col("confirmed_at")?,
        last_step: r.col("last_step")?,
        created_at: r.col("created_at")?,
    })
}
