//! Logout: ending login sessions and choosing where the browser may go
//! after (OIDC RP-Initiated Logout 1.0 and the guide's `/api/auth/logout`).
//! Only registered destinations: never an open redirect.
//!
//! A logout URL is a plain GET, so any page can send a browser there (logout
//! CSRF). A session ends at once only when the request proves it comes from
//! the session's own client, with a valid `id_token_hint` of the session's
//! identity; otherwise the user confirms on the UI's `/logout` page:
//!
//! ```text
//! GET /oauth2/sessions/logout | /api/auth/logout
//!   no live session                  -> target (nothing to end)
//!   valid id_token_hint of its user  -> session ended -> target
//!   otherwise                        -> {UI}/logout?target=SEALED (asks)
//! POST {UI}/logout (CSRF token)      -> session ended -> target
//! ```
//! `SEALED` is the destination this module checked, encrypted under the
//! system secret with an expiry, so the UI follows only destinations checked
//! here. Without a destination the browser goes to the logged-out page.

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_store::Client;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An RP-initiated logout request (OIDC RP-Initiated Logout 1.0 §2): the
/// GET's query or the POST's form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EndSessionRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    /// Registered for the client.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What a logout request comes to.
#[derive(Debug)]
pub enum Logout {
    /// The session, if there was one, has ended: clear its cookie and send
    /// the browser to `location` (the destination, or the logged-out page).
    Ended { location: String },
    /// Nothing ended yet: send the browser to the UI's confirmation page.
    Confirm { location: String },
}

/// A valid `id_token_hint`: one of our id_tokens, possibly expired (OIDC
/// RP-Initiated Logout 1.0 §2 allows that).
struct IdTokenHint {
    subject: String,
    audience: String,
}

/// The destination carried through the confirmation page.
#[derive(Serialize, Deserialize)]
struct SealedTarget {
    to: String,
    exp: i64,
}

/// Binds the sealed destination to its use: nothing else sealed under the
/// system secret opens as one.
const TARGET_AAD: &[u8] = b"oneauth/logout-target";

impl AuthorizationServer {
    /// RP-initiated logout (`/oauth2/sessions/logout`).
    pub async fn end_session(
        &self,
        req: &EndSessionRequest,
        session_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> R<Logout> {
        let hint = req
            .id_token_hint
            .as_deref()
            .map(|h| self.id_token_hint(h))
            .transpose()?;
        let target = self.end_session_target(req, hint.as_ref()).await?;
        self.logout(target, hint.map(|h| h.subject), session_cookie, now)
            .await
    }

    /// The guide's `/api/auth/logout`: a destination by the guide's rule
    /// ([`Self::guide_logout_target`]), and optionally an `id_token_hint`
    /// that spares the user the confirmation.
    pub async fn guide_logout(
        &self,
        post_logout_redirect_uri: Option<&str>,
        id_token_hint: Option<&str>,
        session_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> R<Logout> {
        let subject = id_token_hint
            .map(|h| self.id_token_hint(h))
            .transpose()?
            .map(|h| h.subject);
        let target = match post_logout_redirect_uri {
            Some(uri) => self.guide_logout_target(uri).await?,
            None => None,
        };
        self.logout(target, subject, session_cookie, now).await
    }

    /// Ends the session now when there is nothing to confirm (no live
    /// session) or the hint names the session's identity; else asks.
    async fn logout(
        &self,
        target: Option<String>,
        hinted_subject: Option<String>,
        session_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> R<Logout> {
        // A session still waiting for its second factor ends too.
        let live = match session_cookie {
            Some(c) => self.identities.any_session(c, now).await?,
            None => None,
        };
        match live {
            Some((_, identity)) if hinted_subject.as_deref() != Some(identity.id.as_str()) => {
                let mut location =
                    url::Url::parse(&self.ui_endpoint("/logout")).map_err(crate::internal)?;
                if let Some(t) = &target {
                    location
                        .query_pairs_mut()
                        .append_pair("target", &self.seal_target(t, now));
                }
                return Ok(Logout::Confirm {
                    location: location.into(),
                });
            }
            Some((session, _)) => self.identities.end_session(&session, now).await?,
            None => {}
        }
        Ok(Logout::Ended {
            location: self.destination(target),
        })
    }

    /// The destination, or the logged-out page.
    fn destination(&self, target: Option<String>) -> String {
        target.unwrap_or_else(|| self.ui_endpoint("/logged-out"))
    }

    /// The user confirmed on the UI's page (which checked its CSRF token):
    /// ends the session; the browser goes to [`Self::logout_destination`].
    pub async fn confirm_logout(
        &self,
        target: Option<&str>,
        session_cookie: Option<&str>,
        now: OffsetDateTime,
    ) -> R<String> {
        self.end_login_session(session_cookie, now).await?;
        Ok(self.logout_destination(target, now))
    }

    /// Where the confirmation page sends the browser: the destination
    /// sealed in `target` if it was sealed here and has not expired, else
    /// the logged-out page.
    pub fn logout_destination(&self, target: Option<&str>, now: OffsetDateTime) -> String {
        self.destination(target.and_then(|t| self.open_target(t, now)))
    }

    fn seal_target(&self, to: &str, now: OffsetDateTime) -> String {
        let sealed = SealedTarget {
            to: to.to_owned(),
            exp: now.unix_timestamp() + self.config.tokens.challenge_ttl_secs as i64,
        };
        let json = serde_json::to_vec(&sealed).expect("a string and a number serialise");
        oneauth_crypto::b64url(self.system_keys.seal(TARGET_AAD, &json))
    }

    fn open_target(&self, sealed: &str, now: OffsetDateTime) -> Option<String> {
        let bytes = oneauth_crypto::b64url_decode(sealed)?;
        let json = self.system_keys.open(TARGET_AAD, &bytes)?;
        let t: SealedTarget = serde_json::from_slice(&json).ok()?;
        (t.exp > now.unix_timestamp()).then_some(t.to)
    }

    /// Ends the login session behind a session cookie value, on the server.
    async fn end_login_session(&self, cookie: Option<&str>, now: OffsetDateTime) -> R<()> {
        if let Some(c) = cookie
            && let Some((session, _)) = self.identities.any_session(c, now).await?
        {
            self.identities.end_session(&session, now).await?;
        }
        Ok(())
    }

    /// The guide's `post_logout_redirect_uri`: a URI registered as some
    /// client's post-logout URI, or exactly the origin of a registered
    /// redirect URI (the guide sends `window.location.origin`). The answer
    /// is the parsed URL's (or origin's) serialisation, never the raw
    /// string: the parser drops tabs and newlines, which a `Location`
    /// header cannot carry.
    pub async fn guide_logout_target(&self, uri: &str) -> R<Option<String>> {
        let Ok(url) = url::Url::parse(uri) else {
            return Ok(None);
        };
        if self.store.is_post_logout_uri(uri).await? {
            return Ok(Some(url.into()));
        }
        let origin = url.origin();
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        let plain = url.username().is_empty() && url.password().is_none();
        if !(origin.is_tuple() && bare && plain && matches!(url.scheme(), "http" | "https")) {
            return Ok(None);
        }
        // The origin as serialised: what the guide sends, without the `/`
        // a URL's serialisation would add.
        let origin = origin.ascii_serialization();
        Ok(self
            .store
            .is_client_origin(&origin)
            .await?
            .then_some(origin))
    }

    /// OIDC RP-Initiated Logout 1.0 §2 `id_token_hint`: an id_token we
    /// issued (an RFC 9068 access token signed by the same keys is not
    /// one), possibly expired.
    fn id_token_hint(&self, hint: &str) -> R<IdTokenHint> {
        let claims = self.keyring().verify_compact(hint, "JWT").ok_or_else(|| {
            Error::InvalidRequest("id_token_hint is not an id_token of this issuer.".into())
        })?;
        if claims.get("iss").and_then(|v| v.as_str()) != Some(self.issuer().as_str()) {
            return Err(Error::InvalidRequest(
                "id_token_hint was issued by another issuer.".into(),
            ));
        }
        let audience = match claims.get("aud") {
            Some(serde_json::Value::Array(a)) => {
                a.first().and_then(|v| v.as_str()).map(str::to_owned)
            }
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
        .ok_or_else(|| Error::InvalidRequest("id_token_hint has no audience.".into()))?;
        let subject = claims
            .get("sub")
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::InvalidRequest("id_token_hint has no subject.".into()))?
            .to_owned();
        Ok(IdTokenHint { subject, audience })
    }

    /// RP-initiated logout's destination: the client comes from a valid
    /// `id_token_hint` or from `client_id`; the redirect must be one of that
    /// client's registered post-logout URIs, exactly.
    async fn end_session_target(
        &self,
        req: &EndSessionRequest,
        hint: Option<&IdTokenHint>,
    ) -> R<Option<String>> {
        let client_id = match (hint.map(|h| &h.audience), &req.client_id) {
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
