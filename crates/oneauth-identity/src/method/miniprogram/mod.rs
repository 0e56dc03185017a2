//! Mini-program login: a mini-program gets a one-time code from its
//! platform (`wx.login()`), sends it to OneAuth, and OneAuth exchanges it
//! server-side, with the app's secret, for the person's ids at the
//! platform. Each platform is a plug-in ([`MiniProgramPlatform`], one file
//! each; WeChat first). Not token issuance (the authorization server's)
//! and no HTTP of our own.
//!
//! ```text
//!  login(client_id, code)
//!    ├─ the app serving the client (config)     else unauthorized_client
//!    ├─ code_to_session at the platform         nothing is written before
//!    │    └─ openid, unionid?                   (the session key is not read)
//!    └─ identity by link: ({kind}:union, unionid) when there is one, else
//!       ({kind}:app:{app_id}, openid); the first login creates it
//!  bind_phone(identity, phone code)
//!    ├─ app access token: the database's (sealed, shared by every node)
//!    │    or a new one from the platform, stored until shortly before expiry
//!    ├─ phone_number at the platform            a number it verified
//!    └─ onto this identity, or merge into the one that has it (rule below)
//! ```
//!
//! Linking rule. A union id names the person across every app of one open
//! platform account (mini-programs, and the website login a social
//! provider would link under the same `{kind}:union` key), so it wins; the
//! openid link is kept too, for an app that leaves the open platform.
//!
//! Merge rule: social login's verified-email rule, for phone numbers. The
//! platform has verified the number; the identity that holds it is joined
//! only when it is active and has verified the number too. Joining moves
//! the mini-program identity's links to it and deletes the mini-program
//! identity (its tokens with it), which is done only when that identity
//! has nothing of its own to lose: no email, phone, username or password.
//! Anything else is refused with `already_exists`, never merged silently.

mod wechat;

use crate::{Identities, normalize_phone};
use async_trait::async_trait;
use oneauth_core::config::{MiniProgramApp, MiniProgramKind};
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::SystemKeys;
use oneauth_store::{ExternalIdentity, Identity, IdentityState, StoreError, Traits};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// RFC 8176 has no value for a login vouched for by an app platform.
pub const AMR: &str = "miniprogram";

/// An app token is renewed this long before the platform's expiry, so one
/// read from the database just before then still works at the platform.
const EARLY_RENEWAL_SECS: i64 = 300;

/// How long to wait after the platform's rate limit (per minute).
const PLATFORM_RETRY_AFTER_SECS: u64 = 60;

/// What a platform says about the person behind a login code.
#[derive(Debug)]
pub struct PlatformSession {
    pub openid: String,
    pub unionid: Option<String>,
}

/// A new app access token and its lifetime in seconds.
pub struct AppToken {
    pub token: String,
    pub expires_in: i64,
}

/// How a platform call failed.
#[derive(Debug)]
pub enum PlatformError {
    /// The login or phone code is wrong, expired or used.
    InvalidCode,
    /// The app access token presented was replaced or expired (its error
    /// number): fetch another and retry once.
    StaleAppToken(i64),
    /// The platform's own rate limit.
    RateLimited,
    /// No answer, none in time, or a busy platform: the cause, free of
    /// secrets (for the log).
    Unavailable(String),
    /// Any other error number.
    Refused(i64),
}

/// One platform's server API for one app.
#[async_trait]
pub trait MiniProgramPlatform: Send + Sync {
    /// A login code (`wx.login()`) for the person's ids.
    async fn code_to_session(&self, code: &str) -> Result<PlatformSession, PlatformError>;
    /// A new app access token.
    async fn app_token(&self) -> Result<AppToken, PlatformError>;
    /// A phone-number code (`getPhoneNumber`) for the number, in E.164.
    async fn phone_number(&self, app_token: &str, code: &str) -> Result<String, PlatformError>;
}

struct App {
    client_id: String,
    kind: MiniProgramKind,
    app_id: String,
    platform: Box<dyn MiniProgramPlatform>,
    /// One app token fetch at a time on this node; other nodes may fetch
    /// at the same time, which the platforms' stable tokens allow.
    fetching: tokio::sync::Mutex<()>,
}

impl App {
    /// The link of an openid: per app (openids differ between apps).
    fn app_link(&self) -> String {
        format!("{}:app:{}", self.kind.as_str(), self.app_id)
    }

    fn union_link(&self) -> String {
        format!("{}:union", self.kind.as_str())
    }

    /// The database key of the app token (also its sealing AAD).
    fn token_key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.app_id)
    }

    /// The error to answer for a failed platform call; the cause is logged
    /// (it holds no secret: see [`PlatformError::Unavailable`]).
    fn failed(&self, call: &str, e: PlatformError) -> Error {
        let (kind, app_id) = (self.kind.as_str(), self.app_id.as_str());
        match e {
            PlatformError::InvalidCode => Error::InvalidPlatformCode,
            PlatformError::RateLimited => {
                tracing::warn!(
                    kind,
                    app_id,
                    "mini-program {call}: the platform's rate limit"
                );
                Error::RateLimited {
                    retry_after_secs: PLATFORM_RETRY_AFTER_SECS,
                }
            }
            PlatformError::Unavailable(cause) => {
                tracing::warn!(kind, app_id, %cause, "mini-program {call}: platform unavailable");
                Error::PlatformUnavailable
            }
            PlatformError::StaleAppToken(errcode) | PlatformError::Refused(errcode) => {
                tracing::error!(
                    kind,
                    app_id,
                    errcode,
                    "mini-program {call}: platform refused"
                );
                Error::PlatformFailed { errcode }
            }
        }
    }
}

/// The configured mini-programs.
pub struct MiniPrograms {
    apps: Vec<App>,
    keys: Arc<SystemKeys>,
}

impl MiniPrograms {
    pub fn new(config: &Config, keys: Arc<SystemKeys>) -> anyhow::Result<Self> {
        let settings = &config.miniprogram;
        settings.validate().map_err(anyhow::Error::msg)?;
        // Redirects are not followed: the platform's API does not redirect,
        // and must not steer our server elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.timeout_secs))
            .user_agent(concat!("OneAuth/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let apps = settings
            .apps
            .iter()
            .map(|a: &MiniProgramApp| App {
                client_id: a.client_id.clone(),
                kind: a.kind,
                app_id: a.app_id.clone(),
                platform: match a.kind {
                    MiniProgramKind::Wechat => Box::new(wechat::WeChat::new(a, http.clone())),
                },
                fetching: tokio::sync::Mutex::new(()),
            })
            .collect();
        Ok(Self { apps, keys })
    }

    fn app(&self, client_id: &str) -> Result<&App> {
        self.apps
            .iter()
            .find(|a| a.client_id == client_id)
            .ok_or_else(|| {
                Error::UnauthorizedClient(format!(
                    "No mini-program is configured for the client `{client_id}`."
                ))
            })
    }
}

/// A phone number bound by [`Identities::miniprogram_bind_phone`].
#[derive(Debug)]
pub struct PhoneBound {
    /// The identity that has the number now.
    pub identity: Identity,
    /// The caller's identity was merged into `identity` and is gone, with
    /// its tokens: the mini-program logs in again.
    pub merged: bool,
}

fn phone_taken(why: &str) -> Error {
    Error::AlreadyExists(format!(
        "This phone number belongs to another account, {why}, so the two are not joined."
    ))
}

impl Identities {
    /// The identity behind a login code of the mini-program serving
    /// `client_id`, by the linking rule of this module; created at the
    /// first login. Nothing is written unless the platform vouched for the
    /// code.
    pub async fn miniprogram_login(
        &self,
        client_id: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let app = self.miniprogram.app(client_id)?;
        if code.is_empty() {
            return Err(Error::InvalidRequest("code is missing.".into()));
        }
        let result = match app.platform.code_to_session(code).await {
            Ok(session) => {
                self.platform_identity(app, session, now.unix_timestamp())
                    .await
            }
            Err(e) => Err(app.failed("login", e)),
        };
        let outcome = if result.is_ok() { "success" } else { "error" };
        metrics::counter!("oneauth_logins_total", "method" => "miniprogram", "outcome" => outcome)
            .increment(1);
        result
    }

    async fn platform_identity(
        &self,
        app: &App,
        session: PlatformSession,
        now: i64,
    ) -> Result<Identity> {
        let mut links = Vec::with_capacity(2);
        if let Some(unionid) = session.unionid {
            links.push((app.union_link(), unionid));
        }
        links.push((app.app_link(), session.openid));
        let mut linked = Vec::with_capacity(links.len());
        for (provider, subject) in &links {
            let link = self.store.get_external_identity(provider, subject).await?;
            linked.push(link.map(|l| l.identity_id));
        }
        // The first link found (the union id's, when both are) wins.
        let (identity, created) = match linked.iter().flatten().next() {
            Some(id) => (self.active_platform_identity(id).await?, false),
            None => (self.insert(Traits::default(), None, now).await?, true),
        };
        for (i, ((provider, subject), found)) in links.into_iter().zip(linked).enumerate() {
            if found.is_some() {
                continue;
            }
            let link = ExternalIdentity {
                provider,
                subject,
                identity_id: identity.id.clone(),
                created_at: now,
            };
            match self.store.insert_external_identity(&link).await {
                Ok(()) => {}
                // A concurrent first login of the same person linked first:
                // drop what this one created and use the winner's.
                Err(StoreError::Conflict) if created && i == 0 => {
                    self.store.delete_identity(&identity.id).await?;
                    let winner = self
                        .store
                        .get_external_identity(&link.provider, &link.subject)
                        .await?
                        .ok_or_else(|| Error::internal("mini-program link vanished"))?;
                    return self.active_platform_identity(&winner.identity_id).await;
                }
                // The openid, linked by a concurrent login meanwhile.
                Err(StoreError::Conflict) => {}
                Err(e) => {
                    if created {
                        // Nothing half-created: an identity without its link
                        // could never sign in.
                        let _ = self.store.delete_identity(&identity.id).await;
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(identity)
    }

    async fn active_platform_identity(&self, id: &str) -> Result<Identity> {
        self.store
            .get_identity(id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| {
                Error::AccessDenied("The account of this mini-program user is disabled.".into())
            })
    }

    /// Binds the number behind a `getPhoneNumber` code of the mini-program
    /// serving `client_id` to `identity`, by the merge rule of this module.
    pub async fn miniprogram_bind_phone(
        &self,
        client_id: &str,
        identity: Identity,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<PhoneBound> {
        let app = self.miniprogram.app(client_id)?;
        if code.is_empty() {
            return Err(Error::InvalidRequest("code is missing.".into()));
        }
        let now = now.unix_timestamp();
        let token = self.app_token(app, None, now).await?;
        let number = match app.platform.phone_number(&token, code).await {
            Err(PlatformError::StaleAppToken(_)) => {
                let token = self.app_token(app, Some(&token), now).await?;
                app.platform.phone_number(&token, code).await
            }
            other => other,
        }
        .map_err(|e| app.failed("phone number", e))?;
        let phone = normalize_phone(&number)
            .map_err(|_| Error::internal("the platform's phone number is not a valid number"))?;
        self.bind_phone(identity, phone, now).await
    }

    /// The app's access token: the stored one unless it is `stale`, else a
    /// new one from the platform, stored (sealed) for every node.
    async fn app_token(&self, app: &App, stale: Option<&str>, now: i64) -> Result<String> {
        if let Some(t) = self.stored_app_token(app, stale, now).await? {
            return Ok(t);
        }
        let _one = app.fetching.lock().await;
        // Fetched by another request of this node while this one waited.
        if let Some(t) = self.stored_app_token(app, stale, now).await? {
            return Ok(t);
        }
        let fresh = app
            .platform
            .app_token()
            .await
            .map_err(|e| app.failed("app token", e))?;
        let key = app.token_key();
        let sealed = self
            .miniprogram
            .keys
            .seal(key.as_bytes(), fresh.token.as_bytes());
        let expires_at = now + (fresh.expires_in - EARLY_RENEWAL_SECS).max(60);
        self.store
            .put_platform_token(&key, &sealed, expires_at)
            .await?;
        Ok(fresh.token)
    }

    async fn stored_app_token(
        &self,
        app: &App,
        stale: Option<&str>,
        now: i64,
    ) -> Result<Option<String>> {
        let key = app.token_key();
        let Some(sealed) = self.store.get_platform_token(&key, now).await? else {
            return Ok(None);
        };
        // A row sealed under another system secret is as good as none.
        Ok(self
            .miniprogram
            .keys
            .open(key.as_bytes(), &sealed)
            .and_then(|t| String::from_utf8(t).ok())
            .filter(|t| Some(t.as_str()) != stale))
    }

    async fn bind_phone(
        &self,
        mut identity: Identity,
        phone: String,
        now: i64,
    ) -> Result<PhoneBound> {
        let holder = self.store.get_identity_by_phone(&phone).await?;
        match holder {
            Some(h) if h.id != identity.id => {
                if h.state != IdentityState::Active || !h.traits.phone_verified {
                    return Err(phone_taken("which has not verified it"));
                }
                let t = &identity.traits;
                let own = t.email.is_some()
                    || t.phone.is_some()
                    || t.username.is_some()
                    || identity.password_hash.is_some();
                if own {
                    return Err(phone_taken(
                        "and this account has sign-in details of its own",
                    ));
                }
                if !self.store.merge_identity(&identity.id, &h.id).await? {
                    return Err(Error::InvalidToken(
                        "The access token's user is gone.".into(),
                    ));
                }
                Ok(PhoneBound {
                    identity: h,
                    merged: true,
                })
            }
            _ => {
                let t = &mut identity.traits;
                if t.phone.as_deref() != Some(phone.as_str()) || !t.phone_verified {
                    t.phone = Some(phone);
                    t.phone_verified = true;
                    identity.updated_at = now;
                    match self.store.update_identity(&identity).await {
                        Ok(true) => {}
                        Ok(false) => {
                            return Err(Error::InvalidToken(
                                "The access token's user is gone.".into(),
                            ));
                        }
                        // Another identity took the number meanwhile.
                        Err(StoreError::Conflict) => {
                            return Err(phone_taken("which took it meanwhile"));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(PhoneBound {
                    identity,
                    merged: false,
                })
            }
        }
    }
}
