//! The token endpoint's grants (RFC 6749 §4, §6). The set is closed: a
//! grant type is one of these or `unsupported_grant_type`.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use crate::{AuthorizationServer, R, token::TokenResponse};
use oneauth_core::Error;
use oneauth_store::Client;
use std::collections::HashMap;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
}

impl GrantType {
    pub const ALL: [GrantType; 4] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::DeviceCode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => device_code::GRANT_TYPE,
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
        let scope = params.get("scope").map(String::as_str);
        match grant {
            GrantType::AuthorizationCode => self.exchange_code(client, params, now).await,
            GrantType::RefreshToken => {
                let token = params
                    .get("refresh_token")
                    .ok_or_else(|| Error::InvalidRequest("refresh_token is missing.".into()))?;
                self.refresh(client, token, scope, now).await
            }
            GrantType::ClientCredentials => self.client_credentials(client, scope, now).await,
            GrantType::DeviceCode => {
                let code = params
                    .get("device_code")
                    .ok_or_else(|| Error::InvalidRequest("device_code is missing.".into()))?;
                self.poll_device(client, code, now).await
            }
        }
    }
}
