//! Wire types shared with clients: serde shapes only, no behaviour.

#[macro_use]
pub mod oauth2;
pub mod id;
pub mod identity;
// TOTP and recovery codes (issue 17).
pub mod passkey;
pub mod totp;

use serde::{Deserialize, Serialize};

/// RFC 6749 §5.1 successful token response, in the guide's shape:
/// `{"access_token":"ory_at_…","refresh_token":"ory_rt_…","id_token":"eyJ…",
/// "token_type":"bearer","expires_in":3599,"scope":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub token_type: String,
    pub expires_in: i64,
    pub scope: String,
}

/// SPEC §6 error body: `{"error":"invalid_grant","error_description":"…","code":4006}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub error_description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}
