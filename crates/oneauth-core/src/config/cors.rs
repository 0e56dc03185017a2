//! Which browser origins may call the APIs.

use serde::{Deserialize, Serialize};
use url::Url;

/// Which other web origins a browser may call the public API from.
/// OneAuth's own origins (issuer and UI) always may. The origins of
/// registered redirect URIs may use only what a client needs (the silent
/// exchange for that client, token, refresh, verify, logout, userinfo,
/// discovery), never the identity or login/consent API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cors {
    /// Origins trusted like OneAuth's own, e.g. a custom login UI or the
    /// operator's account pages: `https://account.example.com` (scheme,
    /// host and port only). They may call `/api/identity/*` and
    /// `/api/hydra/*` with the session cookie. Empty by default.
    pub first_party_origins: Vec<Url>,
}

impl Cors {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        for o in &self.first_party_origins {
            let bare = o.path() == "/" && o.query().is_none() && o.fragment().is_none();
            let plain = o.username().is_empty() && o.password().is_none();
            if !(matches!(o.scheme(), "http" | "https") && o.host().is_some() && bare && plain) {
                return Err(format!(
                    "cors.first_party_origins: `{o}` is not an origin (scheme://host[:port])"
                ));
            }
        }
        Ok(())
    }
}
