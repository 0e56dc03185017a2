//! Passkeys (WebAuthn credentials) and the ceremonies that register and
//! use them. The credential itself is opaque here: the JSON that
//! webauthn-rs serialises (public key, signature counter, backup flags).
//! Ceremonies are single use: [`PasskeyStore::take_ceremony`] deletes the
//! row it returns, so of two finishes (two nodes, or a replay) one gets the
//! state. The SQL is the same on both backends.

use crate::StoreResult;
use crate::rows::Columns;
use async_trait::async_trait;

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: String,
    pub identity_id: String,
    /// The WebAuthn credential id, base64url without padding.
    pub credential_id: String,
    /// The person's name for it ("laptop", "phone").
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON.
    pub passkey: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// What a ceremony is for; a finish takes only its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Adding a passkey to a signed-in identity.
    Registration,
    /// A passwordless (discoverable) sign-in: no identity yet.
    Login,
    /// A second factor for a known identity.
    SecondFactor,
}

impl CeremonyKind {
    pub const ALL: [Self; 3] = [Self::Registration, Self::Login, Self::SecondFactor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Login => "login",
            Self::SecondFactor => "second_factor",
        }
    }
}

/// A WebAuthn ceremony in progress: webauthn-rs's state between start and
/// finish (the challenge), as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnCeremony {
    pub id: String,
    pub kind: CeremonyKind,
    /// Whose ceremony it is; `None` for a passwordless login.
    pub identity_id: Option<String>,
    pub state: String,
    pub expires_at: i64,
}

#[async_trait]
pub trait PasskeyStore {
    /// `Conflict` when the credential id is registered already, to any
    /// identity.
    async fn insert_passkey(&self, passkey: &StoredPasskey) -> StoreResult<()>;
    /// The identity's passkeys, oldest first.
    async fn list_passkeys(&self, identity_id: &str) -> StoreResult<Vec<StoredPasskey>>;
    async fn get_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>>;
    /// Records a use: the credential's new JSON (counter, backup flags)
    /// and `last_used_at`, only if the stored JSON is still `old`: a
    /// compare-and-swap, so two sign-ins with one counter value (a cloned
    /// authenticator, or a race between nodes) cannot both succeed.
    async fn record_passkey_use(
        &self,
        id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// False when the identity has no passkey `id`.
    async fn rename_passkey(&self, identity_id: &str, id: &str, name: &str) -> StoreResult<bool>;
    /// False when the identity has no passkey `id`.
    async fn delete_passkey(&self, identity_id: &str, id: &str) -> StoreResult<bool>;
    async fn insert_ceremony(&self, ceremony: &WebauthnCeremony) -> StoreResult<()>;
    /// Deletes the ceremony `id` and returns it if it had not expired at
    /// `now`: of any number of calls, one gets it.
    async fn take_ceremony(&self, id: &str, now: i64) -> StoreResult<Option<WebauthnCeremony>>;
}

pub(crate) mod sql {
    pub const INSERT: &str = "INSERT INTO passkeys
         (id, identity_id, credential_id, name, passkey, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)";
    pub const LIST: &str = "SELECT * FROM passkeys WHERE identity_id = $1 ORDER BY created_at, id";
    pub const BY_CREDENTIAL: &str = "SELECT * FROM passkeys WHERE credential_id = $1";
    pub const RECORD_USE: &str =
        "UPDATE passkeys SET passkey = $3, last_used_at = $4 WHERE id = $1 AND passkey = $2";
    pub const RENAME: &str = "UPDATE passkeys SET name = $3 WHERE identity_id = $1 AND id = $2";
    pub const DELETE: &str = "DELETE FROM passkeys WHERE identity_id = $1 AND id = $2";
    pub const INSERT_CEREMONY: &str = "INSERT INTO webauthn_ceremonies
         (id, kind, identity_id, state, expires_at) VALUES ($1, $2, $3, $4, $5)";
    /// Deleted whether expired or not: an expired one is of no use either.
    pub const TAKE_CEREMONY: &str = "DELETE FROM webauthn_ceremonies WHERE id = $1
         RETURNING id, kind, identity_id, state, expires_at";
}

pub(crate) fn passkey_from(r: &impl Columns) -> StoreResult<StoredPasskey> {
    Ok(StoredPasskey {
        id: r.col("id")?,
        identity_id: r.col("identity_id")?,
        credential_id: r.col("credential_id")?,
        name: r.col("name")?,
        passkey: r.col("passkey")?,
        created_at: r.col("created_at")?,
        last_used_at: r.col("last_used_at")?,
    })
}

/// The row of [`sql::TAKE_CEREMONY`], if still live at `now`.
pub(crate) fn ceremony_from(r: &impl Columns, now: i64) -> StoreResult<Option<WebauthnCeremony>> {
    let kind: String = r.col("kind")?;
    let ceremony = WebauthnCeremony {
        id: r.col("id")?,
        kind: CeremonyKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| {
                crate::StoreError::Other(anyhow::anyhow!("unknown ceremony kind {kind}"))
            })?,
        identity_id: r.col("identity_id")?,
        state: r.col("state")?,
        expires_at: r.col("expires_at")?,
    };
    Ok((ceremony.expires_at > now).then_some(ceremony))
}
