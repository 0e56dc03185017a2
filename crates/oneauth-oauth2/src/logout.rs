//! Logout: ending login sessions and choosing where the browser may go
//! after (OIDC RP-Initiated Logout 1.0 and the guide's `/api/auth/logout`).
//! Only registered destinations: never an open redirect.

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_store::Client;
use time::OffsetDateTime;

/// An RP-initiated logout request (OIDC RP-Initiated Logout 1.0 §2).
#[derive(Debug, Default)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

impl AuthorizationServer {
    /// Ends the login session behind a session cookie value, on the server.
    pub async fn end_login_session(&self, cookie: Option<&str>, now: OffsetDateTime) -> R<()> {
        if let Some(c) = cookie
            && let Some((session, _)) = self.identities.session(c, now).await?
        {
            self.identities.end_session(&session, now).await?;
        }
        Ok(())
    }

    /// The guide's `post_logout_redirect_uri`: a URI registered as some
    /// client's post-logout URI, or exactly the origin of a registered
    /// redirect URI (the guide sends `window.location.origin`).
    pub async fn guide_logout_target(&self, uri: &str) -> R<Option<String>> {
        if self.store.is_post_logout_uri(uri).await? {
            return Ok(Some(uri.to_owned()));
        }
        let Ok(url) = url::Url::parse(uri) else {
            return Ok(None);
        };
        let origin = url.origin();
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        let plain = url.username().is_empty() && url.password().is_none();
        if !(origin.is_tuple() && bare && plain && matches!(url.scheme(), "http" | "https")) {
            return Ok(None);
        }
        let origin = origin.ascii_serialization();
        Ok(self
            .store
            .is_client_origin(&origin)
            .await?
            .then_some(uri.to_owned()))
    }

    /// RP-initiated logout: the client comes from a valid `id_token_hint`
    /// (ours, possibly expired) or from `client_id`; the redirect must be
    /// one of that client's registered post-logout URIs, exactly.
    pub async fn end_session_target(&self, req: &EndSessionRequest) -> R<Option<String>> {
        let hinted_client = match &req.id_token_hint {
            Some(hint) => {
                let claims = self.keyring().verify_compact(hint).ok_or_else(|| {
                    Error::InvalidRequest("id_token_hint is not an id_token of this issuer.".into())
                })?;
                if claims.get("iss").and_then(|v| v.as_str()) != Some(self.issuer().as_str()) {
                    return Err(Error::InvalidRequest(
                        "id_token_hint was issued by another issuer.".into(),
                    ));
                }
                let aud = match claims.get("aud") {
                    Some(serde_json::Value::Array(a)) => {
                        a.first().and_then(|v| v.as_str()).map(str::to_owned)
                    }
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    _ => None,
                };
                Some(aud.ok_or_else(|| {
                    Error::InvalidRequest("id_token_hint has no audience.".into())
                })?)
            }
            None => None,
        };
        let client_id = match (&hinted_client, &req.client_id) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::InvalidRequest(
                    "client_id does not match the id_token_hint's audience.".into(),
                ));
            }
            (Some(a), _) => Some(a.clone()),
            (None, b) => b.clone(),
        };
        let Some(uri) = &req.post_logout_redirect_uri else {
            return Ok(None);
        };
        let client: Option<Client> = match &client_id {
            Some(id) => self.store.get_client(id).await?,
            None => None,
        };
        let client = client.ok_or_else(|| {
            Error::InvalidRequest(
                "post_logout_redirect_uri needs id_token_hint or client_id.".into(),
            )
        })?;
        if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
            return Err(Error::InvalidRequest(
                "post_logout_redirect_uri is not registered for the client.".into(),
            ));
        }
        let mut url = url::Url::parse(uri)
            .map_err(|_| Error::InvalidRequest("bad post_logout_redirect_uri".into()))?;
        if let Some(state) = &req.state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Ok(Some(url.into()))
    }
}
