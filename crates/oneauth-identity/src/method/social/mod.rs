//! Social login: a person signs in at an upstream provider (generic OpenID
//! Connect by discovery, or GitHub-style OAuth2) and comes back as one of
//! our identities. Not a [`super::LoginMethod`]: it has no fields to check
//! but two redirects, so it has its own two steps.
//!
//! ```text
//!  start(provider, continuation)          the browser keeps the sealed
//!    ├─ state, nonce, PKCE verifier  ──▶  PendingLogin in a cookie
//!    └─ authorize URL at the upstream ──▶ person signs in there
//!  finish(provider, cookie, callback)
//!    ├─ state = cookie's state (else InvalidSocialState: another browser)
//!    ├─ code → tokens, server-side with the client secret
//!    ├─ subject, email, email verified? from the id_token / API
//!    └─ link_or_create → identity, continuation
//! ```
//!
//! Linking rule (account pre-hijacking): an upstream account is found by
//! (provider, subject) in the link table. A first sign-in joins an existing
//! identity by email only when the upstream says that email is verified
//! AND the existing identity has verified it too; otherwise it gets a new
//! identity, which carries the email only if the upstream verified it and
//! no other identity has it.

mod github;
mod oidc;

use crate::Identities;
use async_trait::async_trait;
use oneauth_core::config::{SocialKind, SocialProvider};
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::SystemKeys;
use oneauth_store::{ExternalIdentity, Identity, IdentityState, StoreError, Traits};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

/// RFC 8176 has no value for a federated login; `oidc` is what Ory Kratos
/// records for the same thing, so existing consumers recognise it.
pub const AMR: &str = "oidc";

/// How long a person may take at the upstream.
const PENDING_TTL_SECS: i64 = 600;

/// Binds sealed pending logins to their purpose.
const AAD: &[u8] = b"oneauth social login v1";

/// What the browser holds (sealed) between start and callback.
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    provider: String,
    state: String,
    nonce: String,
    pkce_verifier: Option<String>,
    expires_at: i64,
    /// The caller's own data (the login page's parameters), handed back.
    continuation: String,
}

/// The S256 challenge of a PKCE verifier (RFC 7636 §4.2), for either kind
/// of upstream (openidconnect re-exports oauth2's PKCE types).
fn pkce_challenge(verifier: &str) -> oauth2::PkceCodeChallenge {
    oauth2::PkceCodeChallenge::from_code_verifier_sha256(&oauth2::PkceCodeVerifier::new(
        verifier.to_owned(),
    ))
}

/// What an upstream says about the person.
#[derive(Debug)]
pub(crate) struct UpstreamAccount {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
}

/// One kind of upstream.
#[async_trait]
pub(crate) trait Upstream: Send + Sync {
    /// The authorization request (RFC 6749 §4.1.1) carrying `state`, the
    /// `nonce` (OIDC only) and the S256 challenge of the PKCE verifier if any.
    async fn authorize_url(
        &self,
        http: &reqwest::Client,
        state: &str,
        nonce: &str,
        pkce_verifier: Option<&str>,
        now: i64,
    ) -> Result<Url>;
    /// The code exchange and the account behind it.
    async fn account(
        &self,
        http: &reqwest::Client,
        code: &str,
        pending: &PendingLogin,
        now: i64,
    ) -> Result<UpstreamAccount>;
}

pub struct Provider {
    pub id: String,
    pub display_name: String,
    upstream: Box<dyn Upstream>,
    pkce: bool,
}

/// The configured providers.
pub struct SocialLogin {
    providers: Vec<Provider>,
    http: reqwest::Client,
    keys: Arc<SystemKeys>,
}

/// Where the upstream sends the person back.
fn callback_url(config: &Config, id: &str) -> Url {
    let base = config.ui_url.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/social/{id}/callback")).expect("ui_url is a base URL")
}

/// The failure words for a provider that failed; the cause is logged (it
/// never holds a secret: codes and tokens are not in these errors' texts).
pub(crate) fn failed(provider: &str, what: &str, cause: impl std::fmt::Display) -> Error {
    tracing::warn!(provider, error = %cause, "social login: {what}");
    Error::SocialLoginFailed(format!("Sign-in with {provider} failed: {what}."))
}

impl SocialLogin {
    pub fn new(config: &Config, keys: Arc<SystemKeys>) -> anyhow::Result<Self> {
        // Redirects are not followed: an upstream endpoint that redirects
        // must not steer our server elsewhere (SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("OneAuth/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let providers = config
            .social
            .providers
            .iter()
            .map(|p: &SocialProvider| {
                let redirect = callback_url(config, &p.id);
                let upstream: Box<dyn Upstream> = match p.kind {
                    SocialKind::Oidc => Box::new(oidc::Oidc::new(p, redirect)?),
                    SocialKind::OAuth2 => Box::new(github::GitHubStyle::new(p, redirect)),
                };
                Ok(Provider {
                    id: p.id.clone(),
                    display_name: p.display_name.clone(),
                    upstream,
                    pkce: p.pkce,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            providers,
            http,
            keys,
        })
    }

    /// The providers, in configured order (the buttons).
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    fn provider(&self, id: &str) -> Result<&Provider> {
        self.providers
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotFound(format!("No social login provider `{id}`.")))
    }
}

/// A started social login: send the browser to `authorize_url` and keep
/// `cookie` (sealed, opaque) in it for the callback.
pub struct SocialStart {
    pub authorize_url: String,
    pub cookie: String,
}

/// What the upstream put on the callback URL (RFC 6749 §4.1.2, §4.1.2.1).
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
}

impl Identities {
    pub fn social(&self) -> &SocialLogin {
        &self.social
    }

    /// Step one: the upstream authorization URL, and the sealed pending
    /// login that binds its `state` to this browser.
    pub async fn social_start(
        &self,
        provider: &str,
        continuation: &str,
        now: OffsetDateTime,
    ) -> Result<SocialStart> {
        let social = &self.social;
        let p = social.provider(provider)?;
        let now = now.unix_timestamp();
        let pkce_verifier = p.pkce.then(|| oneauth_crypto::random_b64url(32));
        let pending = PendingLogin {
            provider: p.id.clone(),
            state: oneauth_crypto::random_b64url(32),
            nonce: oneauth_crypto::random_b64url(32),
            pkce_verifier,
            expires_at: now + PENDING_TTL_SECS,
            continuation: continuation.to_owned(),
        };
        let url = p
            .upstream
            .authorize_url(
                &social.http,
                &pending.state,
                &pending.nonce,
                pending.pkce_verifier.as_deref(),
                now,
            )
            .await?;
        let json = serde_json::to_vec(&pending).map_err(Error::internal)?;
        Ok(SocialStart {
            authorize_url: url.into(),
            cookie: oneauth_crypto::b64url(social.keys.seal(AAD, &json)),
        })
    }

    /// Step two, at the callback: checks that the answer belongs to the
    /// login this browser started, exchanges the code, and links or creates
    /// the identity. Returns it with the continuation given to
    /// [`Self::social_start`].
    pub async fn social_finish(
        &self,
        provider: &str,
        cookie: Option<&str>,
        callback: &Callback,
        now: OffsetDateTime,
    ) -> Result<(Identity, String)> {
        let social = &self.social;
        let p = social.provider(provider)?;
        let now = now.unix_timestamp();
        // The state must be the one sealed into this browser's cookie: a
        // callback URL carried to another browser (login CSRF), a replay
        // after expiry, or a forged state all stop here.
        let pending: PendingLogin = cookie
            .and_then(oneauth_crypto::b64url_decode)
            .and_then(|sealed| social.keys.open(AAD, &sealed))
            .and_then(|json| serde_json::from_slice(&json).ok())
            .filter(|pl: &PendingLogin| {
                pl.provider == p.id
                    && pl.expires_at > now
                    && callback
                        .state
                        .as_deref()
                        .is_some_and(|s| oneauth_crypto::ct_eq(s.as_bytes(), pl.state.as_bytes()))
            })
            .ok_or(Error::InvalidSocialState)?;
        let result = self.social_account(p, &pending, callback, now).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(_) => "error",
        };
        metrics::counter!("oneauth_logins_total", "method" => "social", "outcome" => outcome)
            .increment(1);
        Ok((result?, pending.continuation))
    }

    async fn social_account(
        &self,
        p: &Provider,
        pending: &PendingLogin,
        callback: &Callback,
        now: i64,
    ) -> Result<Identity> {
        if let Some(error) = &callback.error {
            // Only the RFC 6749 error code is repeated, never the upstream's
            // free text.
            let error = if error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                error.as_str()
            } else {
                "invalid_response"
            };
            return Err(if error == "access_denied" {
                Error::AccessDenied(format!(
                    "The sign-in with {} was cancelled or refused.",
                    p.display_name
                ))
            } else {
                Error::SocialLoginFailed(format!(
                    "{} answered with the error `{error}`.",
                    p.display_name
                ))
            });
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::SocialLoginFailed(format!("{} sent no authorization code.", p.display_name))
            })?;
        let account = p
            .upstream
            .account(&self.social.http, code, pending, now)
            .await?;
        self.link_or_create(&p.id, account, now).await
    }

    /// The identity of an upstream account, by the linking rule of this
    /// module's documentation.
    async fn link_or_create(
        &self,
        provider: &str,
        account: UpstreamAccount,
        now: i64,
    ) -> Result<Identity> {
        let store = &self.store;
        if let Some(link) = store
            .get_external_identity(provider, &account.subject)
            .await?
        {
            return self.linked(&link).await;
        }
        let email = match (&account.email, account.email_verified) {
            (Some(e), true) => crate::normalize_email(e).ok(),
            _ => None,
        };
        let existing = match &email {
            Some(e) => store.get_identity_by_email(e).await?,
            None => None,
        };
        let (identity, created) = match existing {
            Some(i) if i.state == IdentityState::Active && i.traits.email_verified => (i, false),
            taken => {
                // The email stays off a new identity when another identity
                // holds it (unverified there, or disabled).
                let email = email.filter(|_| taken.is_none());
                let traits = Traits {
                    email_verified: email.is_some(),
                    email,
                    name: account.name.clone(),
                    ..Traits::default()
                };
                (self.insert(traits, None, now).await?, true)
            }
        };
        let link = ExternalIdentity {
            provider: provider.to_owned(),
            subject: account.subject,
            identity_id: identity.id.clone(),
            created_at: now,
        };
        match store.insert_external_identity(&link).await {
            Ok(()) => Ok(identity),
            // A concurrent first sign-in of the same upstream account linked
            // first: drop what this one created and use the winner's.
            Err(StoreError::Conflict) => {
                if created {
                    store.delete_identity(&identity.id).await?;
                }
                let winner = store
                    .get_external_identity(provider, &link.subject)
                    .await?
                    .ok_or_else(|| Error::internal("social link vanished"))?;
                self.linked(&winner).await
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn linked(&self, link: &ExternalIdentity) -> Result<Identity> {
        self.store
            .get_identity(&link.identity_id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| {
                Error::SocialLoginFailed("The account of this sign-in is disabled.".into())
            })
    }
}

/// reqwest 0.13 as the HTTP client of `oauth2` and `openidconnect` (their
/// own integration is for reqwest 0.12).
pub(crate) struct Http<'a>(pub &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Http<'_> {
    type Error = reqwest::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send + 'c>,
    >;

    fn call(&'c self, req: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.0, req))
    }
}

async fn send(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let res = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = oauth2::http::Response::builder().status(res.status());
    if let Some(h) = out.headers_mut() {
        *h = res.headers().clone();
    }
    Ok(out
        .body(res.bytes().await?.to_vec())
        .expect("status and headers came from a response"))
}
