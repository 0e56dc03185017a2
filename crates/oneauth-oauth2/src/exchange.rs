//! The guide's silent token exchange: tokens straight from a logged-in
//! session, without a redirect, for the client's own web origins only.

use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, parse_scope};
use oneauth_core::Error;
use oneauth_proto::oauth2::GrantType;
use oneauth_store::{Identity, Session};
use serde::Deserialize;
use time::OffsetDateTime;

/// `POST /api/oauth/web/exchange` body, as the guide sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilentExchange {
    pub client_id: String,
    pub redirect_uri: String,
    #[serde(default)]
    pub scope: String,
    pub code_verifier: String,
}

fn origin_of(uri: &str) -> Option<String> {
    let o = url::Url::parse(uri).ok()?.origin();
    o.is_tuple().then(|| o.ascii_serialization())
}

impl AuthorizationServer {
    /// Issues tokens for the session's user. `origin` is the request's
    /// `Origin` header: it must be OneAuth's own or an origin of this
    /// client's redirect URIs, so another site cannot mint tokens with the
    /// user's cookie. (A request without `Origin` does not come from a
    /// cross-site page: browsers always send it on cross-origin POSTs.)
    pub async fn silent_exchange(
        &self,
        req: &SilentExchange,
        session: &Session,
        identity: &Identity,
        origin: Option<&str>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let client = self
            .store
            .get_client(&req.client_id)
            .await?
            .ok_or_else(|| Error::InvalidRequest("The client is unknown.".into()))?;
        if let Some(origin) = origin {
            // Narrower than `check_request_origin`: this client's origins
            // only, not every registered client's.
            let allowed = self.is_own_origin(origin)
                || client
                    .redirect_uris
                    .iter()
                    .filter_map(|u| origin_of(u))
                    .any(|o| o == origin);
            if !allowed {
                return Err(Error::AccessDenied(format!(
                    "Origin {origin} may not exchange tokens for this client."
                )));
            }
        }
        if !crate::client::redirect_uri_registered(&client.redirect_uris, &req.redirect_uri) {
            return Err(Error::RedirectUriMismatch(
                "redirect_uri is not registered for the client.".into(),
            ));
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(Error::UnauthorizedClient(
                "The client may not use the authorization code grant.".into(),
            ));
        }
        if !(43..=128).contains(&req.code_verifier.len())
            || !req
                .code_verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            return Err(Error::InvalidPkce(
                "code_verifier must be 43–128 unreserved characters.".into(),
            ));
        }
        let scope = parse_scope(&req.scope)?;
        if let Some(s) = scope.iter().find(|s| !client.scope.contains(s)) {
            return Err(Error::InvalidScope(format!(
                "The client may not request scope `{s}`."
            )));
        }
        if !client.skip_consent {
            let granted = self
                .store
                .get_consent(&identity.id, &client.client_id)
                .await?;
            if !granted.is_some_and(|g| scope.iter().all(|s| g.contains(s))) {
                return Err(Error::ConsentRequired);
            }
        }
        if self.demands_mfa(&client, &[]) && !crate::second_factor::multi_factor(session) {
            return Err(Error::SecondFactorRequired);
        }
        let grant_id = uuid::Uuid::now_v7().to_string();
        self.issue_tokens(
            Grant {
                grant_id: &grant_id,
                client: &client,
                identity: Some(identity),
                scope: &scope,
                session_id: Some(&session.id),
                auth_time: Some(session.authenticated_at),
                amr: &session.amr,
                nonce: None,
            },
            now,
        )
        .await
    }
}
