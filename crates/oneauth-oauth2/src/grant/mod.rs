//! The token endpoint's grants (RFC 6749 §4). The set is closed: a grant
//! type is one of these or `unsupported_grant_type`.

pub mod authorization_code;

use crate::{AuthorizationServer, R, token::TokenResponse};
use oneauth_core::Error;
use oneauth_store::Client;
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
}

impl GrantType {
    pub const ALL: [GrantType; 1] = [Self::AuthorizationCode];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl AuthorizationServer {
    /// RFC 6749 §3.2: one token request from an authenticated client.
    pub async fn token(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let raw = params
            .get("grant_type")
            .ok_or_else(|| Error::InvalidRequest("grant_type is missing.".into()))?;
        let grant = GrantType::parse(raw).ok_or_else(|| {
            Error::UnsupportedGrantType(format!("Grant type `{raw}` is not supported."))
        })?;
        if !client.grant_types.iter().any(|g| g == grant.as_str()) {
            return Err(Error::UnauthorizedClient(format!(
                "The client may not use the {raw} grant."
            )));
        }
        match grant {
            GrantType::AuthorizationCode => self.exchange_code(client, params, now).await,
        }
    }
}
