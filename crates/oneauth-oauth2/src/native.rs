//! The guide's CLI login (`POST /oauth/native/cli`): a password login for
//! headless tools, for clients registered to allow it. Rate-limited per
//! identifier and per IP before any hashing; every credential failure is
//! the same answer after the same work.

use crate::token::TokenResponse;
use crate::{AuthorizationServer, R, parse_scope};
use oneauth_core::Error;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use time::OffsetDateTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NativeLogin {
    pub client_id: String,
    pub username: String,
    pub password: String,
    pub code_verifier: String,
    #[serde(default)]
    pub scope: String,
}

impl AuthorizationServer {
    pub async fn native_login(
        &self,
        req: NativeLogin,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        self.limits.login_attempt(ip, &req.username, now).await?;
        let client = self
            .store
            .get_client(&req.client_id)
            .await?
            .filter(|c| c.native_cli_login)
            .ok_or_else(|| {
                Error::UnauthorizedClient("The client may not use the CLI login.".into())
            })?;
        if !(43..=128).contains(&req.code_verifier.len()) {
            return Err(Error::InvalidPkce(
                "code_verifier must be 43–128 characters.".into(),
            ));
        }
        let scope = parse_scope(&req.scope)?;
        if let Some(s) = scope.iter().find(|s| !client.scope.contains(s)) {
            return Err(Error::InvalidScope(format!(
                "The client may not request scope `{s}`."
            )));
        }
        let fields = HashMap::from([
            ("identifier".to_owned(), req.username),
            ("password".to_owned(), req.password),
        ]);
        let (identity, amr) = self
            .identities
            .authenticate("password", &fields, now)
            .await?;
        self.check_sessionless_login(&client, &identity, amr)
            .await?;
        self.issue_sessionless(&client, &identity, &scope, amr, now)
            .await
    }
}
