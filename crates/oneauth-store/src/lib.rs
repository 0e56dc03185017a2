//! Storage behind traits, one per concern. Implementations live in
//! `sqlite` (one node) and `postgres` (scale-out); nothing outside this crate
//! knows which backend runs. Single-use and state changes are atomic inside
//! the trait methods (`take_code`, `advance_flow`), never read-then-write in
//! the caller. Every expiry check takes `now` from the caller.

mod common;
mod device;
mod miniprogram;
mod model;
// Passkeys (WebAuthn), issue 17.
mod passkey;
pub mod postgres;
mod rows;
pub mod sqlite;
// TOTP and recovery codes (issue 17, second factors).
mod totp;

pub use miniprogram::MiniProgramStore;
pub use model::*;
pub use passkey::{CeremonyKind, PasskeyStore, StoredPasskey, WebauthnCeremony};
pub use totp::{TotpSecret, TotpStore};

use async_trait::async_trait;
use std::sync::Arc;

/// Storage failures. "Not found" is not one: lookups return `Option`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists")]
    Conflict,
    #[error("database unavailable: {0}")]
    Unavailable(#[source] anyhow::Error),
    #[error("database error: {0}")]
    Other(#[source] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                Self::Unavailable(e.into())
            }
            _ => Self::Other(e.into()),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match e.sqlite_error() {
            Some(f)
                if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                Self::Conflict
            }
            Some(f)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy
                        | rusqlite::ErrorCode::DatabaseLocked
                        | rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::SystemIoFailure
                        | rusqlite::ErrorCode::DiskFull
                ) =>
            {
                Self::Unavailable(e.into())
            }
            _ => Self::Other(e.into()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Other(e.into())
    }
}

impl From<StoreError> for oneauth_core::Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::AlreadyExists("The resource exists already.".into()),
            StoreError::Unavailable(e) => Self::Unavailable(e),
            StoreError::Other(e) => Self::Internal(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait KeyStore {
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()>;
    /// Newest first.
    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>>;
}

#[async_trait]
pub trait ClientStore {
    async fn insert_client(&self, client: &Client) -> StoreResult<()>;
    async fn update_client(&self, client: &Client) -> StoreResult<bool>;
    async fn get_client(&self, id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Deletes the client and, in the same transaction, every token issued
    /// to it: a deleted client's tokens must not stay active.
    async fn delete_client(&self, id: &str) -> StoreResult<bool>;
    /// Whether `origin` (scheme://host[:port]) is the origin of a registered redirect URI.
    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool>;
    /// Whether `uri` is a registered post-logout redirect URI of some client.
    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait IdentityStore {
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()>;
    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>>;
    /// `email` is compared as stored: callers normalise it first.
    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>>;
    /// `phone` in E.164, as stored.
    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>>;
    /// `username` normalised (lower case), as stored.
    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>>;
    /// Writes traits, password hash and `updated_at`; `Conflict` when an
    /// identifier belongs to another identity. False when the id is unknown.
    async fn update_identity(&self, identity: &Identity) -> StoreResult<bool>;
    async fn list_identities(&self) -> StoreResult<Vec<Identity>>;
    /// Deletes the identity with its sessions, consents and tokens.
    async fn delete_identity(&self, id: &str) -> StoreResult<bool>;
    /// Sets the state; disabling revokes the identity's sessions and tokens
    /// in the same transaction (as [`IdentityStore::revoke_identity_access`]).
    async fn set_identity_state(
        &self,
        id: &str,
        state: IdentityState,
        now: i64,
    ) -> StoreResult<bool>;
    /// Ends the identity's access everywhere, in one transaction: every
    /// token issued to it (access and refresh, of every client and flow)
    /// is revoked, and every live session but `keep_session`. Disabling,
    /// a password change and a recovery all use it. Returns how many
    /// sessions ended.
    async fn revoke_identity_access(
        &self,
        id: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> StoreResult<u64>;
}

/// Social login links, (provider, subject) -> identity. They go with their
/// identity when it is deleted.
#[async_trait]
pub trait ExternalIdentityStore {
    /// `Conflict` when the upstream account is linked already, to any identity.
    async fn insert_external_identity(&self, link: &ExternalIdentity) -> StoreResult<()>;
    async fn get_external_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<ExternalIdentity>>;
}

/// How stale a session's `last_used_at` may get: five minutes, so a busy
/// session costs one write per five minutes, not one per request.
pub const SESSION_TOUCH_SECS: i64 = 300;

#[async_trait]
pub trait SessionStore {
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// A live session (not revoked, not expired at `now`).
    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>>;
    /// Ends a session; true when it was live until now (once, on any node).
    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<bool>;
    /// Records a use of the session at `now`, unless one was recorded less
    /// than [`SESSION_TOUCH_SECS`] before.
    async fn touch_session(&self, id: &str, now: i64) -> StoreResult<()>;
    /// The identity's live sessions, newest first.
    async fn list_sessions(&self, identity_id: &str, now: i64) -> StoreResult<Vec<Session>>;
    /// Revokes every live session of the identity except `keep` (the one
    /// making the change); returns how many ended.
    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64>;
}

/// Which secret of a flow a lookup presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKey {
    LoginChallenge,
    LoginVerifier,
    ConsentChallenge,
    ConsentVerifier,
}

#[async_trait]
pub trait FlowStore {
    async fn insert_flow(&self, flow: &Flow) -> StoreResult<()>;
    /// An unexpired flow whose `key` hashes to `hash`.
    async fn get_flow(&self, key: FlowKey, hash: &str, now: i64) -> StoreResult<Option<Flow>>;
    /// Writes `flow` only if the stored state is still `from`: the
    /// compare-and-swap that makes every challenge and verifier single-use.
    async fn advance_flow(&self, flow: &Flow, from: FlowState) -> StoreResult<bool>;
}

#[async_trait]
pub trait ConsentStore {
    async fn get_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Vec<String>>>;
    async fn upsert_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> StoreResult<()>;
}

/// The result of presenting a refresh token for rotation.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live; it is now used and the successors are stored.
    Rotated,
    /// Used within the grace window: the sealed successor pair it got then.
    Replayed { sealed_successor: Vec<u8> },
    /// Used before the grace window: the caller revokes the family.
    Reused { grant_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

/// The result of presenting an authorization code.
#[derive(Debug)]
pub enum TakenCode {
    Fresh(Box<AuthorizationCode>),
    /// Used before: the caller revokes what the first use issued.
    Reused {
        grant_id: String,
    },
    Unknown,
}

#[async_trait]
pub trait CodeStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// The code, if it is known and not used yet (expired or not): what an
    /// exchange checks before it mints.
    async fn get_unused_code(&self, hash: &str) -> StoreResult<Option<AuthorizationCode>>;
    /// Marks the code used and returns it, atomically; a second call gets
    /// `Reused` and marks the reuse.
    async fn take_code(&self, hash: &str, now: i64) -> StoreResult<TakenCode>;
    /// `take_code` and, only if the code was fresh, `insert_tokens`, in one
    /// transaction: an exchange's tokens are stored if and only if it was
    /// the code's first use.
    async fn redeem_code(&self, hash: &str, now: i64, tokens: &[Token]) -> StoreResult<TakenCode>;
}

#[async_trait]
pub trait TokenStore {
    async fn insert_tokens(&self, tokens: &[Token]) -> StoreResult<()>;
    /// A token of `kind` that is not revoked and not expired at `now`. A
    /// used refresh token is returned too (with `used_at`), for reuse detection.
    async fn get_token(&self, kind: TokenKind, hash: &str, now: i64) -> StoreResult<Option<Token>>;
    /// [`get_token`](Self::get_token) with the identity of the token's
    /// subject, in one lookup: verification, introspection, userinfo and
    /// refresh need both. The identity is `None` for client tokens, and when
    /// it is gone.
    async fn get_token_with_identity(
        &self,
        kind: TokenKind,
        hash: &str,
        now: i64,
    ) -> StoreResult<Option<(Token, Option<Identity>)>>;
    /// Revokes one token; false when it was unknown or revoked already.
    async fn revoke_token(&self, hash: &str, now: i64) -> StoreResult<bool>;
    /// Revokes every token of a grant; returns how many were live.
    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<u64>;
    /// Marks the live refresh token `hash` used and stores `successors`,
    /// atomically: of any number of concurrent calls exactly one rotates.
    /// A replay no later than `grace_secs` after the use gets the sealed
    /// successor back.
    async fn rotate_refresh(
        &self,
        hash: &str,
        now: i64,
        grace_secs: i64,
        successors: &[Token],
        sealed_successor: &[u8],
    ) -> StoreResult<Rotation>;
}

/// Shared request counters for rate limits.
#[async_trait]
pub trait RateLimitStore {
    /// Adds `count` hits on `key` in the window starting at `window_start`
    /// (a new window resets the count), atomically; returns the hits so far.
    async fn hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        count: i64,
    ) -> StoreResult<i64>;
    /// A budget and its version, for [`RateLimitStore::put_budget`].
    async fn get_budget(&self, key: &str) -> StoreResult<Option<(Budget, i64)>>;
    /// Writes `budget` if the stored version is still `version` (`None`:
    /// there was no row): a compare-and-swap, so two nodes spending the
    /// same budget at once cannot both succeed on the same state. False
    /// when another writer came first; read again and retry.
    async fn put_budget(
        &self,
        key: &str,
        budget: &Budget,
        version: Option<i64>,
    ) -> StoreResult<bool>;
}

/// One-time codes (login, verification, recovery). Only the newest code of
/// a (purpose, address) pair counts; each guess spends an attempt before it
/// is checked, so concurrent guesses cannot exceed the limit.
#[async_trait]
pub trait OneTimeCodeStore {
    /// Stores `code` and retires every earlier code of its purpose and address.
    async fn insert_one_time_code(&self, code: &OneTimeCode) -> StoreResult<()>;
    /// Spends one attempt on the newest unexpired, unused code of
    /// (purpose, address) that has fewer than `max_attempts` attempts, and
    /// returns it; `None` when there is no such code.
    async fn spend_one_time_code_attempt(
        &self,
        purpose: CodePurpose,
        address: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<Option<OneTimeCode>>;
    /// Marks the code used; false when it was used already.
    async fn take_one_time_code(&self, id: &str, now: i64) -> StoreResult<bool>;
}

/// The courier's outbox: messages survive restarts and outages of the mail
/// or SMS provider, and are retried until sent or abandoned.
#[async_trait]
pub trait CourierStore {
    async fn insert_message(&self, message: &CourierMessage) -> StoreResult<()>;
    /// Leases up to `limit` queued messages due at `now`: each gets one more
    /// attempt and `next_attempt_at = lease_until`, atomically, so two
    /// workers (nodes) never send the same message at the same time, and a
    /// worker that dies mid-send leaves the message to be retried.
    async fn claim_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<CourierMessage>>;
    async fn mark_message_sent(&self, id: &str) -> StoreResult<()>;
    /// Records a failed attempt: queued again for `retry_at`, or abandoned
    /// when `None`.
    async fn mark_message_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()>;
    async fn get_message(&self, id: &str) -> StoreResult<Option<CourierMessage>>;
}

/// Device authorizations (RFC 8628), found by either code's keyed hash.
/// Every change (the user's answer, each poll) is a compare-and-swap on
/// [`DeviceCode::version`], so two nodes acting at once cannot both win.
#[async_trait]
pub trait DeviceCodeStore {
    /// `Conflict` when either hash exists already.
    async fn insert_device_code(&self, code: &DeviceCode) -> StoreResult<()>;
    /// Expired or not: the caller tells `expired_token` from unknown.
    async fn get_device_code(&self, device_code_hash: &str) -> StoreResult<Option<DeviceCode>>;
    async fn get_device_code_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> StoreResult<Option<DeviceCode>>;
    /// Writes `code` if its stored version is still `code.version`, and
    /// then stores `tokens`, in one transaction; false when another writer
    /// came first (read again and decide again).
    async fn update_device_code(&self, code: &DeviceCode, tokens: &[Token]) -> StoreResult<bool>;
}

/// Removal of rows nobody can use any more.
#[async_trait]
pub trait Cleanup {
    /// Deletes up to `batch` rows per table that expired before `now`, and
    /// wipes sealed successors older than `sealed_before`. Returns rows deleted.
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64>;
}

/// Everything OneAuth stores.
#[async_trait]
pub trait Store:
    KeyStore
    + ClientStore
    + IdentityStore
    + ExternalIdentityStore
    + SessionStore
    + FlowStore
    + ConsentStore
    + CodeStore
    + DeviceCodeStore
    + TokenStore
    + OneTimeCodeStore
    + CourierStore
    + Cleanup
    + RateLimitStore
    + MiniProgramStore
    + TotpStore
    + PasskeyStore
    + Send
    + Sync
{
    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> StoreResult<()>;
    /// Whether every migration this binary embeds has been applied (a node
    /// older than the schema, or newer, is not ready).
    async fn schema_current(&self) -> StoreResult<bool>;
    /// Connections in the pool, and how many of them are idle.
    fn pool_stats(&self) -> PoolStats;
    /// The client `client_id` and, if asked, a token with its identity as
    /// [`TokenStore::get_token_with_identity`] finds it, read together:
    /// introspection authenticates its caller and looks a token up on
    /// every request. A store that can reads both in one transaction.
    async fn get_client_and_token(
        &self,
        client_id: &str,
        token: Option<(TokenKind, &str)>,
        now: i64,
    ) -> StoreResult<(Option<Client>, Option<(Token, Option<Identity>)>)> {
        let client = self.get_client(client_id).await?;
        let token = match token {
            Some((kind, hash)) => self.get_token_with_identity(kind, hash, now).await?,
            None => None,
        };
        Ok((client, token))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// Opens the store named by `url` and brings its schema up to date.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PostgresStore::open(url).await?))
    } else {
        anyhow::bail!("unsupported database URL scheme (expected sqlite:// or postgres://)")
    }
}
