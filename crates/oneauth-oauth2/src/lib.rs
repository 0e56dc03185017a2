//! The authorization server: clients, the authorization endpoint with its
//! login and consent challenges, grants, tokens, discovery. No HTTP types:
//! handlers pass parsed parameters and `now`, and get plain results back.

pub mod admin;
pub mod authorize;
pub mod challenge;
pub mod client;
pub mod discovery;
pub mod exchange;
pub mod grant;
pub mod introspect;
pub mod keys;
pub mod login;
pub mod logout;
pub mod mfa;
pub mod miniprogram;
pub mod native;
pub mod pkce;
pub mod second_factor;
pub mod token;
pub mod userinfo;

#[cfg(test)]
mod test_server;

use bytes::Bytes;
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::{Keyring, SystemKeys, TokenMinter};
use oneauth_identity::Identities;
use oneauth_identity::limit::Limits;
use oneauth_store::Store;
use std::sync::{Arc, RwLock};
use time::OffsetDateTime;

/// The authorization server's operations. Its services are its own: front
/// ends hold the identity service, limits and configuration themselves
/// (their app states) and reach storage only through these operations.
pub struct AuthorizationServer {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Arc<Config>,
    pub(crate) system_keys: Arc<SystemKeys>,
    pub(crate) minter: Arc<TokenMinter>,
    pub(crate) identities: Arc<Identities>,
    pub(crate) limits: Arc<Limits>,
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
        let limits = identities.limits();
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
    /// cookie: OneAuth's own and the configured first-party origins
    /// (`cors.first_party_origins`). A registered client's origin is not
    /// one of them: a third-party app's page (or an XSS on it, or any
    /// local program on a registered loopback port) must not read or
    /// change the account.
    pub fn is_first_party_origin(&self, origin: &str) -> bool {
        self.is_own_origin(origin)
            || self
                .config
                .cors
                .first_party_origins
                .iter()
                .any(|u| u.origin().ascii_serialization() == origin)
    }

    /// Whether a browser page on `origin` may call an endpoint of `kind`
    /// cross-origin (CORS); [`CrossOrigin::with_credentials`] says whether
    /// with the session cookie.
    pub async fn allows_cross_origin(&self, origin: &str, kind: CrossOrigin) -> R<bool> {
        if self.is_first_party_origin(origin) {
            return Ok(true);
        }
        Ok(match kind {
            CrossOrigin::Account => false,
            CrossOrigin::SilentExchange | CrossOrigin::Tokens => {
                self.store.is_client_origin(origin).await?
            }
        })
    }

    /// Refuses a request acting with the session cookie whose `Origin`
    /// header is not first-party ([`Self::is_first_party_origin`]). A
    /// request without `Origin` does not come from a cross-site page:
    /// browsers always send it on cross-origin requests made by scripts
    /// and on POST, PUT, PATCH and DELETE.
    pub async fn check_request_origin(&self, origin: Option<&str>) -> R<()> {
        match origin {
            Some(o) if !self.is_first_party_origin(o) => Err(Error::AccessDenied(format!(
                "Requests from origin {o} are not accepted here."
            ))),
            _ => Ok(()),
        }
    }

    /// No open redirects: a post-login URL is followed only to OneAuth's
    /// own origins, a first-party origin or the origin of a registered
    /// redirect URI. The answer is the parsed URL's serialisation, never
    /// the raw string: the parser drops tabs and newlines, which a
    /// `Location` header cannot carry.
    pub async fn allowed_return_to(&self, target: &str) -> R<Option<String>> {
        let Some(url) = followable_url(target) else {
            return Ok(None);
        };
        // A redirect, not a credentialed read: a client's origin is fine.
        let origin = url.origin().ascii_serialization();
        let allowed =
            self.is_first_party_origin(&origin) || self.store.is_client_origin(&origin).await?;
        Ok(allowed.then(|| url.into()))
    }
}

/// A post-login or post-logout target as it may be followed: an absolute
/// http(s) URL without credentials, parsed; `None` for anything else.
pub fn followable_url(target: &str) -> Option<url::Url> {
    let url = url::Url::parse(target).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none())
    .then_some(url)
}

/// The kinds of public endpoint, by what a cross-origin page may do there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossOrigin {
    /// Acts with the session cookie on the account or the login and
    /// consent flow (`/api/identity/*`, `/api/hydra/*`, logout pages):
    /// first-party origins only.
    Account,
    /// The guide's silent exchange: the session cookie, from a client's
    /// origin too; the exchange itself then allows only that client's
    /// origins ([`AuthorizationServer::silent_exchange`]).
    SilentExchange,
    /// Token, refresh, verify, logout (by token), userinfo, revocation,
    /// introspection, discovery: no cookie is involved, so client origins
    /// may call them, without credentials.
    Tokens,
}

impl CrossOrigin {
    /// Whether a cross-origin answer lets the browser send and read with
    /// cookies (`Access-Control-Allow-Credentials`).
    pub fn with_credentials(self) -> bool {
        match self {
            Self::Account | Self::SilentExchange => true,
            Self::Tokens => false,
        }
    }
}

/// The longest `scope` parameter accepted, in bytes.
pub const MAX_SCOPE_LEN: usize = 2048;
/// The most distinct scopes one request may name.
pub const MAX_SCOPES: usize = 64;

/// Splits a space-delimited list (RFC 6749 §3.3) in order, without
/// duplicates, in linear time; `None` over [`MAX_SCOPE_LEN`] bytes or
/// [`MAX_SCOPES`] values. Scopes are parsed before the client or user is
/// authenticated, so their cost must not grow with what a stranger sends.
pub fn space_delimited(raw: &str) -> Option<Vec<String>> {
    if raw.len() > MAX_SCOPE_LEN {
        return None;
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if seen.insert(s) {
            if out.len() == MAX_SCOPES {
                return None;
            }
            out.push(s.to_owned());
        }
    }
    Some(out)
}

/// A requested `scope` (RFC 6749 §3.3): [`space_delimited`], or
/// `invalid_scope` over the caps.
pub fn parse_scope(raw: &str) -> Result<Vec<String>> {
    space_delimited(raw).ok_or_else(|| {
        Error::InvalidScope(format!(
            "scope may name at most {MAX_SCOPES} scopes in at most {MAX_SCOPE_LEN} bytes."
        ))
    })
}

pub(crate) fn internal(e: impl Into<anyhow::Error>) -> Error {
    Error::Internal(e.into())
}

pub(crate) type R<T> = Result<T>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_keep_their_order_without_duplicates() {
        assert_eq!(
            parse_scope("  openid profile openid  email profile").unwrap(),
            ["openid", "profile", "email"]
        );
        assert!(parse_scope("").unwrap().is_empty());
    }

    #[test]
    fn scopes_over_the_caps_are_invalid_scope() {
        let names = |n: usize| (0..n).map(|i| format!("s{i}")).collect::<Vec<_>>();
        assert_eq!(
            parse_scope(&names(MAX_SCOPES).join(" ")).unwrap().len(),
            MAX_SCOPES
        );
        let err = parse_scope(&names(MAX_SCOPES + 1).join(" ")).unwrap_err();
        assert_eq!(err.code().oauth_error(), "invalid_scope");
        // Repeats do not count towards the number, only towards the length.
        assert_eq!(parse_scope(&["a"; 500].join(" ")).unwrap(), ["a"]);
        assert!(parse_scope(&"a".repeat(MAX_SCOPE_LEN)).is_ok());
        assert!(parse_scope(&"a".repeat(MAX_SCOPE_LEN + 1)).is_err());
    }

    #[test]
    fn only_plain_http_urls_are_followable() {
        let url = followable_url("https://app.example.com:8443/done?x=1#f").unwrap();
        assert_eq!(
            url.origin().ascii_serialization(),
            "https://app.example.com:8443"
        );
        for refused in [
            "/relative",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://user:pw@app.example.com/",
            "https://user@app.example.com/",
            "not a url",
        ] {
            assert_eq!(followable_url(refused), None, "{refused}");
        }
    }
}
