//! The authorization server: clients, the authorization endpoint with its
//! login and consent challenges, grants, tokens, discovery. No HTTP types:
//! handlers pass parsed parameters and `now`, and get plain results back.

pub mod authorize;
pub mod challenge;
pub mod client;
pub mod discovery;
pub mod exchange;
pub mod grant;
pub mod introspect;
pub mod keys;
pub mod logout;
pub mod native;
pub mod pkce;
pub mod token;
pub mod userinfo;

use bytes::Bytes;
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::{Keyring, SystemKeys, TokenMinter};
use oneauth_identity::Identities;
use oneauth_identity::limit::Limits;
use oneauth_store::Store;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

pub struct AuthorizationServer {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub system_keys: Arc<SystemKeys>,
    pub minter: Arc<TokenMinter>,
    pub identities: Arc<Identities>,
    pub limits: Arc<Limits>,
    keyring: RwLock<Arc<Keyring>>,
    /// The discovery document, serialised when the keys change (its
    /// algorithms follow them), not per request.
    discovery: RwLock<Bytes>,
}

impl AuthorizationServer {
    pub fn new(
        store: Arc<dyn Store>,
        config: Arc<Config>,
        system_keys: Arc<SystemKeys>,
        minter: Arc<TokenMinter>,
        identities: Arc<Identities>,
        keyring: Keyring,
    ) -> Self {
        let limits = Arc::new(Limits::new(&config.limits, store.clone()));
        let server = Self {
            store,
            config,
            system_keys,
            minter,
            identities,
            limits,
            keyring: RwLock::new(Arc::new(keyring)),
            discovery: RwLock::new(Bytes::new()),
        };
        server.refresh_discovery();
        server
    }

    fn refresh_discovery(&self) {
        let doc = Bytes::from(self.discovery().to_string());
        *self.discovery.write().unwrap_or_else(|e| e.into_inner()) = doc;
    }

    /// The serialised discovery document (a clone shares the buffer).
    pub fn discovery_json(&self) -> Bytes {
        self.discovery
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reloads signing keys when the stored set changed (a rotation here or
    /// on another node), and drops keys whose retention ran out. Returns
    /// whether the keyring changed.
    pub async fn reload_keys(&self, now: OffsetDateTime) -> anyhow::Result<bool> {
        let stored = self.store.list_keys().await?;
        let current = self.keyring();
        let keyring = keys::load_from(
            stored,
            &self.system_keys,
            now.unix_timestamp(),
            keys::retention_secs(&self.config),
        )?;
        let changed =
            keyring.kids() != current.kids() || keyring.jwks_json() != current.jwks_json();
        if changed {
            *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keyring);
            self.refresh_discovery();
        }
        Ok(changed)
    }

    /// Deletes expired rows; run periodically.
    pub async fn cleanup(&self, now_dt: OffsetDateTime) -> R<u64> {
        let now = now_dt.unix_timestamp();
        let grace = self.config.tokens.refresh_grace_secs as i64;
        self.limits.forget_before(now_dt);
        Ok(self
            .store
            .delete_expired(
                now,
                now - grace,
                self.config.maintenance.cleanup_batch.max(1) as i64,
            )
            .await?)
    }

    pub fn keyring(&self) -> Arc<Keyring> {
        self.keyring
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A public endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.config.issuer.as_str().trim_end_matches('/'),
            path
        )
    }

    /// A login UI URL.
    pub fn ui_endpoint(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.config.ui_url.as_str().trim_end_matches('/'),
            path
        )
    }

    /// The issuer exactly as configured (no trailing slash added or removed
    /// beyond what the operator wrote, minus the one `Url` adds to a bare host).
    pub fn issuer(&self) -> String {
        let s = self.config.issuer.as_str();
        if self.config.issuer.path() == "/" {
            s.trim_end_matches('/').to_owned()
        } else {
            s.to_owned()
        }
    }
}

impl AuthorizationServer {
    /// Whether `origin` (serialised as in an `Origin` header) is one of
    /// OneAuth's own: the issuer's or the login UI's.
    pub fn is_own_origin(&self, origin: &str) -> bool {
        [&self.config.issuer, &self.config.ui_url]
            .iter()
            .any(|u| u.origin().ascii_serialization() == origin)
    }

    /// The origins trusted to act in a browser with the user's session
    /// cookie: OneAuth's own and the origins of registered redirect URIs.
    /// CORS, `return_to` and the cookie-authenticated JSON endpoints all
    /// use this one rule.
    pub async fn is_trusted_origin(&self, origin: &str) -> R<bool> {
        if self.is_own_origin(origin) {
            return Ok(true);
        }
        Ok(self.store.is_client_origin(origin).await?)
    }

    /// Refuses a request whose `Origin` header names another site. A
    /// request without `Origin` does not come from a cross-site page:
    /// browsers always send it on cross-origin POST, PUT, PATCH and DELETE.
    pub async fn check_request_origin(&self, origin: Option<&str>) -> R<()> {
        match origin {
            Some(o) if !self.is_trusted_origin(o).await? => Err(Error::AccessDenied(format!(
                "Requests from origin {o} are not accepted here."
            ))),
            _ => Ok(()),
        }
    }

    /// No open redirects: a post-login or post-logout URL is followed only
    /// to OneAuth's own origins or the origin of a registered redirect URI.
    pub async fn is_allowed_return_to(&self, target: &str) -> R<bool> {
        let Some(origin) = return_to_origin(target) else {
            return Ok(false);
        };
        self.is_trusted_origin(&origin).await
    }
}

/// The origin a post-login or post-logout URL must be trusted for, or
/// `None` when it could never be followed: not an absolute http(s) URL, or
/// one carrying credentials.
pub fn return_to_origin(target: &str) -> Option<String> {
    let url = url::Url::parse(target).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// Splits a space-delimited scope string (RFC 6749 §3.3), without duplicates.
pub fn parse_scope(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

pub(crate) fn internal(e: impl Into<anyhow::Error>) -> Error {
    Error::Internal(e.into())
}

pub(crate) type R<T> = Result<T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_origin_is_the_origin_of_plain_http_urls_only() {
        assert_eq!(
            return_to_origin("https://app.example.com:8443/done?x=1#f").as_deref(),
            Some("https://app.example.com:8443")
        );
        for refused in [
            "/relative",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://user:pw@app.example.com/",
            "https://user@app.example.com/",
            "not a url",
        ] {
            assert_eq!(return_to_origin(refused), None, "{refused}");
        }
    }
}
