//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2) and the
//! browser's returns to it after login and consent.
//!
//! ```text
//! GET /oauth2/auth?client_id…      -> {UI}/login?login_challenge=C   (or skip: live session)
//! UI accepts C                      -> /oauth2/auth?login_verifier=V
//! GET /oauth2/auth?login_verifier=V -> {UI}/consent?consent_challenge=K (or skip)
//! UI accepts K                      -> /oauth2/auth?consent_verifier=W
//! GET /oauth2/auth?consent_verifier -> redirect_uri?code=…&state=…&iss=…
//! ```
//! Verifiers only count in the browser that started the flow (a cookie
//! whose hash the flow keeps), so a challenge accepted elsewhere is useless.

mod request;

pub use request::parse_authorize_request;

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_crypto::{TokenHash, TokenKind};
use oneauth_proto::oauth2::Prompt;
use oneauth_store::{
    AuthorizationCode, AuthorizeRequest, Client, Flow, FlowKey, FlowState, Session,
};
use std::collections::HashMap;
use time::OffsetDateTime;

/// What the browser brought along.
#[derive(Debug, Default)]
pub struct BrowserContext {
    /// The browser-binding cookie, if the browser has one.
    pub browser_cookie: Option<String>,
    /// The login session cookie.
    pub session_cookie: Option<String>,
}

#[derive(Debug)]
pub enum AuthorizeOutcome {
    /// Client or redirect URI unverified: show the error on our own page,
    /// never redirect (RFC 6749 §4.1.2.1). `client_id` names a registered
    /// client when the request had one, for the page's way back to it.
    ErrorPage {
        error: Error,
        client_id: Option<String>,
    },
    /// Send the browser on; set the browser-binding cookie if given.
    Redirect {
        location: String,
        set_browser_cookie: Option<String>,
    },
}

fn redirect_with(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(base).expect("redirect URIs are validated at registration");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.into()
}

impl AuthorizationServer {
    /// The error answer to a verified redirect URI (RFC 6749 §4.1.2.1,
    /// RFC 9207 `iss`).
    pub fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, err: &Error) -> String {
        let code = err.code();
        let description = err.to_string();
        let issuer = self.issuer();
        let mut params = vec![
            ("error", code.oauth_error()),
            ("error_description", description.as_str()),
        ];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", issuer.as_str()));
        redirect_with(redirect_uri, &params)
    }

    pub async fn authorize(
        &self,
        params: &HashMap<String, String>,
        browser: &BrowserContext,
        now: OffsetDateTime,
    ) -> AuthorizeOutcome {
        let redirect = |location| AuthorizeOutcome::Redirect {
            location,
            set_browser_cookie: None,
        };
        let verifier = [
            ("login_verifier", FlowKey::LoginVerifier),
            ("consent_verifier", FlowKey::ConsentVerifier),
        ]
        .into_iter()
        .find_map(|(name, key)| params.get(name).map(|v| (key, v)));
        if let Some((key, v)) = verifier {
            return match self.resume(key, v, browser, now).await {
                Ok(location) => redirect(location),
                Err((error, client_id)) => AuthorizeOutcome::ErrorPage { error, client_id },
            };
        }
        let (client, redirect_uri) = match self.verify_client_and_redirect(params).await {
            Ok(v) => v,
            Err(error) => {
                // A redirect URI mismatch is found after the client: it is
                // registered.
                let client_id = matches!(error, Error::RedirectUriMismatch(_))
                    .then(|| params.get("client_id").cloned())
                    .flatten();
                return AuthorizeOutcome::ErrorPage { error, client_id };
            }
        };
        let state = params.get("state").filter(|s| !s.is_empty());
        match self
            .start(&client, &redirect_uri, params, browser, now)
            .await
        {
            Ok(outcome) => outcome,
            Err(e @ (Error::Internal(_) | Error::Unavailable(_))) => {
                tracing::error!(error = ?e, "authorization request failed");
                redirect(self.error_redirect(&redirect_uri, state.map(String::as_str), &e))
            }
            Err(e) => redirect(self.error_redirect(&redirect_uri, state.map(String::as_str), &e)),
        }
    }

    /// Client and exact redirect URI match (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3).
    async fn verify_client_and_redirect(
        &self,
        params: &HashMap<String, String>,
    ) -> R<(Client, String)> {
        let client_id = params
            .get("client_id")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::InvalidRequest("client_id is missing.".into()))?;
        let client = self
            .store
            .get_client(client_id)
            .await?
            .ok_or_else(|| Error::InvalidRequest("The client is unknown.".into()))?;
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| Error::RedirectUriMismatch("redirect_uri is missing.".into()))?;
        if !crate::client::redirect_uri_registered(&client.redirect_uris, redirect_uri) {
            return Err(Error::RedirectUriMismatch(
                "redirect_uri does not exactly match a URI registered for the client.".into(),
            ));
        }
        Ok((client, redirect_uri.clone()))
    }

    /// A verified client's new request: a flow, then on to login, or past
    /// it with a live session (OIDC Core §3.1.2.3).
    async fn start(
        &self,
        client: &Client,
        redirect_uri: &str,
        params: &HashMap<String, String>,
        browser: &BrowserContext,
        now: OffsetDateTime,
    ) -> R<AuthorizeOutcome> {
        let request = parse_authorize_request(client, redirect_uri, params)?;
        let (browser_cookie, set_browser_cookie) = match &browser.browser_cookie {
            Some(c) if c.len() == 43 => (c.clone(), None),
            _ => {
                let c = oneauth_crypto::random_b64url(32);
                (c.clone(), Some(c))
            }
        };
        let (challenge, challenge_hash) = self.minter.mint(TokenKind::Challenge, "", now);
        let mut flow = self.new_flow(request, &browser_cookie, challenge_hash.0, now);

        // OIDC Core §3.1.2.3: reuse a live session unless the client asks
        // for a fresh login, explicitly or through max_age.
        let live = match &browser.session_cookie {
            Some(c) => self.identities.session(c, now).await?,
            None => None,
        };
        let fresh_login_needed = demands_fresh_login(&flow.request);
        // A live session that lacks only a second factor the request
        // demands is stepped up, not replaced: the UI asks for the factor.
        let mut step_up = false;
        let skip = match live {
            Some((s, _)) if fresh_login_needed || too_old(&s, flow.request.max_age, now) => {
                flow.stale_session_id = Some(s.id);
                None
            }
            Some((s, _))
                if self
                    .check_session_factors(&s, client, &flow.request)
                    .is_err() =>
            {
                step_up = true;
                None
            }
            live => live,
        };
        let location = if let Some((session, identity)) = skip {
            flow.subject = Some(identity.id.clone());
            flow.session_id = Some(session.id.clone());
            flow.auth_time = Some(session.authenticated_at);
            flow.amr = session.amr.clone();
            flow.login_skipped = true;
            flow.state = FlowState::LoginAccepted;
            self.store.insert_flow(&flow).await?;
            self.after_login(flow, client, now).await?
        } else if flow.request.prompt.contains(&Prompt::None) {
            return Err(Error::LoginRequired(if step_up {
                "The request needs a second factor and prompt=none forbids asking.".into()
            } else {
                "The user is not logged in and prompt=none forbids asking.".into()
            }));
        } else {
            self.store.insert_flow(&flow).await?;
            let mut params = vec![("login_challenge", challenge.as_str())];
            if flow.request.popup {
                params.push(("mode", "popup"));
            }
            let page = if step_up {
                "/login/second-factor"
            } else {
                "/login"
            };
            redirect_with(&self.ui_endpoint(page), &params)
        };
        Ok(AuthorizeOutcome::Redirect {
            location,
            set_browser_cookie,
        })
    }

    /// A flow waiting for login, bound to the browser that holds
    /// `browser_cookie`.
    fn new_flow(
        &self,
        request: AuthorizeRequest,
        browser_cookie: &str,
        login_challenge_hash: String,
        now: OffsetDateTime,
    ) -> Flow {
        Flow {
            id: uuid::Uuid::now_v7().to_string(),
            login_challenge_hash,
            login_verifier_hash: None,
            consent_challenge_hash: None,
            consent_verifier_hash: None,
            state: FlowState::LoginPending,
            request,
            browser_hash: TokenHash::of(browser_cookie).0,
            requested_at: now.unix_timestamp(),
            subject: None,
            session_id: None,
            auth_time: None,
            amr: vec![],
            stale_session_id: None,
            login_skipped: false,
            granted_scope: vec![],
            expires_at: now.unix_timestamp() + self.config.tokens.challenge_ttl_secs as i64,
        }
    }

    /// The browser returns with a verifier: check it belongs to this
    /// browser and move the flow on. A flow finished in another browser
    /// fails with its (registered) client, for the error page's way back.
    async fn resume(
        &self,
        key: FlowKey,
        verifier: &str,
        browser: &BrowserContext,
        now: OffsetDateTime,
    ) -> Result<String, (Error, Option<String>)> {
        let no_client = |e: Error| (e, None);
        let hash = self
            .minter
            .check(TokenKind::Challenge, "", verifier)
            .ok_or((Error::InvalidChallenge, None))?;
        let flow = self
            .store
            .get_flow(key, &hash.0, now.unix_timestamp())
            .await
            .map_err(|e| no_client(e.into()))?
            .ok_or((Error::InvalidChallenge, None))?;
        let same_browser = browser.browser_cookie.as_deref().is_some_and(|c| {
            oneauth_crypto::ct_eq(TokenHash::of(c).0.as_bytes(), flow.browser_hash.as_bytes())
        });
        if !same_browser {
            let error = Error::AccessDenied(
                "The login was completed in another browser; start again.".into(),
            );
            return Err((error, Some(flow.request.client_id)));
        }
        self.advance(key, flow, now).await.map_err(no_client)
    }

    /// Moves a flow on that came back to the browser that started it.
    async fn advance(&self, key: FlowKey, flow: Flow, now: OffsetDateTime) -> R<String> {
        let client = self
            .store
            .get_client(&flow.request.client_id)
            .await?
            .ok_or(Error::InvalidChallenge)?;
        match (key, flow.state) {
            (FlowKey::LoginVerifier, FlowState::LoginAccepted) => {
                self.after_login(flow, &client, now).await
            }
            (FlowKey::ConsentVerifier, FlowState::ConsentAccepted) => {
                self.issue_code(flow, FlowState::ConsentAccepted, now).await
            }
            _ => Err(Error::InvalidChallenge),
        }
    }

    /// Login done: consent is skipped for first-party clients and for scopes
    /// the user granted before; otherwise ask on the consent page.
    async fn after_login(&self, mut flow: Flow, client: &Client, now: OffsetDateTime) -> R<String> {
        let subject = flow.subject.clone().ok_or(Error::InvalidChallenge)?;
        let prompt_consent = flow.request.prompt.contains(&Prompt::Consent);
        let remembered = self.store.get_consent(&subject, &client.client_id).await?;
        let covered = remembered
            .is_some_and(|granted| flow.request.scope.iter().all(|s| granted.contains(s)));
        if client.skip_consent || (covered && !prompt_consent) {
            flow.granted_scope = flow.request.scope.clone();
            return self.issue_code(flow, FlowState::LoginAccepted, now).await;
        }
        if flow.request.prompt.contains(&Prompt::None) {
            let err = Error::ConsentRequired;
            return Ok(self.error_redirect(
                &flow.request.redirect_uri,
                flow.request.state.as_deref(),
                &err,
            ));
        }
        let (challenge, hash) = self.minter.mint(TokenKind::Challenge, "", now);
        flow.consent_challenge_hash = Some(hash.0);
        flow.state = FlowState::ConsentPending;
        if !self
            .store
            .advance_flow(&flow, FlowState::LoginAccepted)
            .await?
        {
            return Err(Error::InvalidChallenge);
        }
        Ok(redirect_with(
            &self.ui_endpoint("/consent"),
            &[("consent_challenge", &challenge)],
        ))
    }

    /// Ends the flow with an authorization code (RFC 6749 §4.1.2).
    async fn issue_code(&self, mut flow: Flow, from: FlowState, now: OffsetDateTime) -> R<String> {
        flow.state = FlowState::Done;
        if !self.store.advance_flow(&flow, from).await? {
            return Err(Error::InvalidChallenge);
        }
        let (code, hash) = self.minter.mint(
            TokenKind::AuthorizationCode,
            &self.config.tokens.authorization_code_prefix,
            now,
        );
        let missing = || Error::internal("accepted flow without subject");
        self.store
            .insert_code(&AuthorizationCode {
                hash: hash.0,
                grant_id: uuid::Uuid::now_v7().to_string(),
                client_id: flow.request.client_id.clone(),
                redirect_uri: flow.request.redirect_uri.clone(),
                code_challenge: flow.request.code_challenge.clone(),
                nonce: flow.request.nonce.clone(),
                scope: flow.granted_scope.clone(),
                subject: flow.subject.clone().ok_or_else(missing)?,
                session_id: flow.session_id.clone().ok_or_else(missing)?,
                auth_time: flow.auth_time.ok_or_else(missing)?,
                amr: flow.amr.clone(),
                expires_at: now.unix_timestamp()
                    + self.config.tokens.authorization_code_ttl_secs as i64,
            })
            .await?;
        let issuer = self.issuer();
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = &flow.request.state {
            params.push(("state", s));
        }
        params.push(("iss", &issuer));
        Ok(redirect_with(&flow.request.redirect_uri, &params))
    }
}

/// The request wants the user to log in now, whatever session exists:
/// `prompt=login`, or `max_age=0` (OIDC Core §3.1.2.1). Ages are whole
/// seconds, so `max_age=0` would otherwise let a session from this very
/// second pass as fresh.
pub(crate) fn demands_fresh_login(request: &AuthorizeRequest) -> bool {
    request.prompt.contains(&Prompt::Login) || request.max_age == Some(0)
}

/// OIDC Core §3.1.2.1 `max_age`: the session is too old for this request.
pub(crate) fn too_old(session: &Session, max_age: Option<i64>, now: OffsetDateTime) -> bool {
    max_age.is_some_and(|m| now.unix_timestamp() - session.authenticated_at > m)
}
