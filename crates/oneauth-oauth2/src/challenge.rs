//! Login and consent challenges, as a login UI sees them (Hydra's
//! login/consent provider API, but authenticated by the user's own session
//! cookie instead of a trusted back end).

use crate::authorize::{demands_fresh_login, too_old};
use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_crypto::TokenKind;
use oneauth_store::{Client, Flow, FlowKey, FlowState, Identity, Session};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientSummary {
    pub client_id: String,
    pub client_name: String,
    /// Registered https URIs (RFC 7591 §2), for the consent page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
}

impl From<Client> for ClientSummary {
    fn from(c: Client) -> Self {
        Self {
            client_id: c.client_id,
            client_name: c.client_name,
            logo_uri: c.logo_uri,
            policy_uri: c.policy_uri,
            tos_uri: c.tos_uri,
            client_uri: c.client_uri,
        }
    }
}

/// `GET /api/hydra/login?login_challenge=`: what the login UI needs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub challenge: String,
    pub client: ClientSummary,
    pub requested_scope: Vec<String>,
    /// True when the user must not be asked (never for pending challenges:
    /// live sessions are accepted before the UI is involved).
    pub skip: bool,
    pub subject: String,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub prompt: Vec<oneauth_proto::oauth2::Prompt>,
    pub max_age: Option<i64>,
    /// Where this browser's login stands for this request, so a custom
    /// login UI knows which steps to show.
    pub authentication: LoginProgress,
}

/// The factors a login proved and the steps it still needs.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LoginProgress {
    /// The amr (RFC 8176) of the browser's session that counts for this
    /// request; empty without one.
    pub done: Vec<String>,
    /// In order: `first_factor` (password, code, social or passkey
    /// login), `second_factor` (prove one on the second-factor step), or
    /// `enrol_second_factor` (none enrolled yet: enrol one there first).
    /// Empty: accept the challenge.
    pub needed: Vec<&'static str>,
    /// What the person enrolled, once a session says who it is: `totp`,
    /// `passkey`, `recovery_code`.
    pub second_factors: Vec<&'static str>,
}

/// `GET /api/hydra/consent?consent_challenge=`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRequest {
    pub challenge: String,
    pub client: ClientSummary,
    /// Host of this request's redirect URI: where the answer goes, which a
    /// look-alike client name cannot fake.
    pub redirect_host: String,
    pub requested_scope: Vec<String>,
    pub subject: String,
    pub ui_locales: Option<String>,
}

/// Where the browser goes next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RedirectTo {
    pub redirect_to: String,
}

impl AuthorizationServer {
    async fn flow_for(
        &self,
        key: FlowKey,
        challenge: &str,
        state: FlowState,
        now: OffsetDateTime,
    ) -> R<Flow> {
        let hash = self
            .minter
            .check(TokenKind::Challenge, "", challenge)
            .ok_or(Error::InvalidChallenge)?;
        let flow = self
            .store
            .get_flow(key, &hash.0, now.unix_timestamp())
            .await?;
        flow.filter(|f| f.state == state)
            .ok_or(Error::InvalidChallenge)
    }

    async fn client_summary(&self, client_id: &str) -> R<ClientSummary> {
        let c = self
            .store
            .get_client(client_id)
            .await?
            .ok_or(Error::InvalidChallenge)?;
        Ok(c.into())
    }

    /// The login request behind `challenge`; `session` is the browser's
    /// (pending or complete), for [`LoginRequest::authentication`].
    pub async fn login_request(
        &self,
        challenge: &str,
        session: Option<&Session>,
        now: OffsetDateTime,
    ) -> R<LoginRequest> {
        let flow = self
            .flow_for(
                FlowKey::LoginChallenge,
                challenge,
                FlowState::LoginPending,
                now,
            )
            .await?;
        let client = self
            .store
            .get_client(&flow.request.client_id)
            .await?
            .ok_or(Error::InvalidChallenge)?;
        let authentication = self.progress(&flow, &client, session, now).await?;
        Ok(LoginRequest {
            authentication,
            challenge: challenge.to_owned(),
            client: client.into(),
            requested_scope: flow.request.scope,
            skip: false,
            subject: String::new(),
            login_hint: flow.request.login_hint,
            ui_locales: flow.request.ui_locales,
            prompt: flow.request.prompt,
            max_age: flow.request.max_age,
        })
    }

    async fn progress(
        &self,
        flow: &Flow,
        client: &Client,
        session: Option<&Session>,
        now: OffsetDateTime,
    ) -> R<LoginProgress> {
        let Some(session) = session.filter(|s| !self.stale_for(flow, s, now)) else {
            return Ok(LoginProgress {
                needed: vec!["first_factor"],
                ..LoginProgress::default()
            });
        };
        let factors = self.identities.second_factors(&session.identity_id).await?;
        let second_factors = [
            (factors.totp, "totp"),
            (factors.passkeys > 0, "passkey"),
            (factors.recovery_codes > 0, "recovery_code"),
        ]
        .into_iter()
        .filter_map(|(has, name)| has.then_some(name))
        .collect();
        let due = session.second_factor_pending
            || self
                .check_session_factors(session, client, &flow.request)
                .is_err();
        let needed = match (due, factors.any()) {
            (false, _) => vec![],
            (true, true) => vec!["second_factor"],
            (true, false) => vec!["enrol_second_factor"],
        };
        Ok(LoginProgress {
            done: session.amr.clone(),
            needed,
            second_factors,
        })
    }

    /// A session that cannot serve this flow at all: the one live when it
    /// started with a fresh login demanded, or older than it asks.
    fn stale_for(&self, flow: &Flow, session: &Session, now: OffsetDateTime) -> bool {
        flow.stale_session_id.as_deref() == Some(session.id.as_str())
            || (demands_fresh_login(&flow.request) && session.authenticated_at < flow.requested_at)
            || too_old(session, flow.request.max_age, now)
    }

    /// Accepts a login challenge for the holder of `session`. When the
    /// request demanded a fresh login (`prompt=login`, `max_age=0`, or
    /// `max_age` exceeded), only a session newer than the request counts.
    pub async fn accept_login(
        &self,
        challenge: &str,
        session: &Session,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> R<RedirectTo> {
        let mut flow = self
            .flow_for(
                FlowKey::LoginChallenge,
                challenge,
                FlowState::LoginPending,
                now,
            )
            .await?;
        // A fresh login was demanded: the session live at the start of the
        // flow, or any older one, does not count.
        if self.stale_for(&flow, session, now) {
            return Err(Error::LoginRequired(
                "This request needs a fresh login.".into(),
            ));
        }
        if session.second_factor_pending {
            return Err(Error::SecondFactorRequired);
        }
        let client = self
            .store
            .get_client(&flow.request.client_id)
            .await?
            .ok_or(Error::InvalidChallenge)?;
        self.check_session_factors(session, &client, &flow.request)?;
        let (verifier, hash) = self.minter.mint(TokenKind::Challenge, "", now);
        flow.subject = Some(identity.id.clone());
        flow.session_id = Some(session.id.clone());
        flow.auth_time = Some(session.authenticated_at);
        flow.amr = session.amr.clone();
        flow.login_verifier_hash = Some(hash.0);
        flow.state = FlowState::LoginAccepted;
        if !self
            .store
            .advance_flow(&flow, FlowState::LoginPending)
            .await?
        {
            return Err(Error::InvalidChallenge);
        }
        Ok(RedirectTo {
            redirect_to: format!(
                "{}?login_verifier={verifier}",
                self.endpoint("/oauth2/auth")
            ),
        })
    }

    pub async fn consent_request(&self, challenge: &str, now: OffsetDateTime) -> R<ConsentRequest> {
        let flow = self
            .flow_for(
                FlowKey::ConsentChallenge,
                challenge,
                FlowState::ConsentPending,
                now,
            )
            .await?;
        Ok(ConsentRequest {
            challenge: challenge.to_owned(),
            client: self.client_summary(&flow.request.client_id).await?,
            redirect_host: url::Url::parse(&flow.request.redirect_uri)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default(),
            requested_scope: flow.request.scope,
            subject: flow.subject.unwrap_or_default(),
            ui_locales: flow.request.ui_locales,
        })
    }

    /// The pending consent request behind `challenge`. Only the user the flow
    /// logged in may answer it.
    async fn pending_consent(
        &self,
        challenge: &str,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> R<Flow> {
        let flow = self
            .flow_for(
                FlowKey::ConsentChallenge,
                challenge,
                FlowState::ConsentPending,
                now,
            )
            .await?;
        if flow.subject.as_deref() != Some(identity.id.as_str()) {
            return Err(Error::AccessDenied(
                "This consent request belongs to another user.".into(),
            ));
        }
        Ok(flow)
    }

    /// Grants `grant_scope` (a subset of what was requested) and remembers
    /// it. Only the user the flow logged in may consent.
    pub async fn accept_consent(
        &self,
        challenge: &str,
        identity: &Identity,
        grant_scope: Option<Vec<String>>,
        now: OffsetDateTime,
    ) -> R<RedirectTo> {
        let mut flow = self.pending_consent(challenge, identity, now).await?;
        let granted = grant_scope.unwrap_or_else(|| flow.request.scope.clone());
        if let Some(s) = granted.iter().find(|s| !flow.request.scope.contains(s)) {
            return Err(Error::InvalidScope(format!(
                "Scope `{s}` was not requested."
            )));
        }
        let (verifier, hash) = self.minter.mint(TokenKind::Challenge, "", now);
        flow.granted_scope = granted;
        flow.consent_verifier_hash = Some(hash.0);
        flow.state = FlowState::ConsentAccepted;
        if !self
            .store
            .advance_flow(&flow, FlowState::ConsentPending)
            .await?
        {
            return Err(Error::InvalidChallenge);
        }
        self.store
            .upsert_consent(
                &identity.id,
                &flow.request.client_id,
                &flow.granted_scope,
                now.unix_timestamp(),
            )
            .await?;
        Ok(RedirectTo {
            redirect_to: format!(
                "{}?consent_verifier={verifier}",
                self.endpoint("/oauth2/auth")
            ),
        })
    }

    /// The user said no: the client gets `access_denied` (RFC 6749 §4.1.2.1).
    pub async fn reject_consent(
        &self,
        challenge: &str,
        identity: &Identity,
        now: OffsetDateTime,
    ) -> R<RedirectTo> {
        let mut flow = self.pending_consent(challenge, identity, now).await?;
        flow.state = FlowState::Done;
        if !self
            .store
            .advance_flow(&flow, FlowState::ConsentPending)
            .await?
        {
            return Err(Error::InvalidChallenge);
        }
        let err = Error::AccessDenied("The user denied the request.".into());
        Ok(RedirectTo {
            redirect_to: self.error_redirect(
                &flow.request.redirect_uri,
                flow.request.state.as_deref(),
                &err,
            ),
        })
    }
}
