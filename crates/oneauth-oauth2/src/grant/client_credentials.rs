//! The client credentials grant (RFC 6749 §4.4): a confidential client acts
//! for itself. No user, so no refresh token and no id_token.

use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, parse_scope};
use oneauth_core::Error;
use oneauth_store::Client;
use time::OffsetDateTime;

/// Scopes that only make sense with a user.
const USER_SCOPES: [&str; 3] = ["openid", "offline", "offline_access"];

impl AuthorizationServer {
    pub async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        if client.is_public() {
            return Err(Error::UnauthorizedClient(
                "Public clients cannot use client_credentials.".into(),
            ));
        }
        let scope = match scope {
            Some(s) => {
                let asked = parse_scope(s)?;
                if let Some(bad) = asked
                    .iter()
                    .find(|s| !client.scope.contains(s) || USER_SCOPES.contains(&s.as_str()))
                {
                    return Err(Error::InvalidScope(format!(
                        "Scope `{bad}` is not available to this client here."
                    )));
                }
                asked
            }
            None => client
                .scope
                .iter()
                .filter(|s| !USER_SCOPES.contains(&s.as_str()))
                .cloned()
                .collect(),
        };
        let grant_id = uuid::Uuid::now_v7().to_string();
        self.issue_tokens(
            Grant {
                grant_id: &grant_id,
                client,
                identity: None,
                scope: &scope,
                session_id: None,
                auth_time: None,
                amr: &[],
                nonce: None,
            },
            now,
        )
        .await
    }
}
