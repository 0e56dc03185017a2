//! Requests and answers of the passkey API (`/api/identity/passkeys/…`).
//! A ceremony is two calls: `…/options` returns WebAuthn options for
//! `navigator.credentials.create()` or `.get()` with a `ceremony_id`, and
//! the finish sends the browser's credential back with that id. Binary
//! WebAuthn fields are base64url, as in WebAuthn Level 3's JSON
//! (`PublicKeyCredential.toJSON()`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A started ceremony.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyCeremony {
    /// Sent back with the finish; valid for 5 minutes, once.
    pub ceremony_id: String,
    /// `{"publicKey": …}` for `navigator.credentials.create()` or `.get()`
    /// (binary fields base64url). A sign-in's options carry
    /// `"mediation": "conditional"` for autofill; drop it for a sign-in
    /// started by a button.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// `POST /api/identity/passkeys/registration`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationRequest {
    pub ceremony_id: String,
    /// The person's name for the passkey, 1 to 64 characters.
    #[schema(example = "Laptop")]
    pub name: String,
    /// What `navigator.credentials.create()` returned, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// `POST /api/identity/passkeys/login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyLoginRequest {
    pub ceremony_id: String,
    /// What `navigator.credentials.get()` returned, as JSON.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A pending OAuth2 login to accept for the new session, as with a
    /// password login.
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// `PATCH /api/identity/passkeys/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRenameRequest {
    #[schema(example = "Phone")]
    pub name: String,
}

/// A registered passkey.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; absent before the first sign-in with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<i64>,
    /// Synced between devices by its provider (amr `swk`), rather than
    /// bound to one authenticator (`hwk`).
    pub backup_eligible: bool,
}

/// `GET /api/identity/passkeys`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasskeysResponse {
    /// Oldest first.
    pub passkeys: Vec<PasskeyView>,
}
