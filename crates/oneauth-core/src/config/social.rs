//! Social login: the upstream providers and their checks.

use super::url;
use serde::{Deserialize, Serialize};
use url::Url;

/// Social login: upstream OpenID Connect or OAuth2 providers, each a
/// button on the login page (with `enable_social=true`). The callback URL
/// to register at the provider is `{ui_url}/social/{id}/callback`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Social {
    /// In the order of the buttons (TOML: `[[social.providers]]`).
    pub providers: Vec<SocialProvider>,
}

/// One upstream provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialProvider {
    /// Short name in URLs and in the link table (`[a-z0-9_-]`, at most 32
    /// characters). Changing it orphans the accounts linked under it.
    pub id: String,
    /// The button's text: "Continue with {display_name}".
    pub display_name: String,
    /// `oidc` (discovery) or `oauth2` (GitHub-style).
    pub kind: SocialKind,
    pub client_id: String,
    /// Kept out of logs and `Debug`; sent only to the token endpoint.
    #[serde(default)]
    pub client_secret: crate::SecretString,
    /// Scopes to ask for; empty means `openid email profile` (oidc) or
    /// `read:user user:email` (oauth2).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Send a PKCE S256 challenge. Providers ignore parameters they do not
    /// know (RFC 6749 §3.1), so this is off only for one that refuses it.
    #[serde(default = "yes")]
    pub pkce: bool,
    /// `oidc`: the issuer; its `/.well-known/openid-configuration` is read.
    #[serde(default)]
    pub issuer: Option<Url>,
    /// `oauth2`: endpoints; each defaults to GitHub's.
    #[serde(default)]
    pub oauth2: OAuth2Endpoints,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocialKind {
    Oidc,
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// A GitHub-style OAuth2 provider's endpoints (GitHub's by default). The
/// user's id, login and name come from `userinfo_url` (GitHub's `/user`);
/// verified addresses from `emails_url` (GitHub's `/user/emails`: a list
/// of `{email, primary, verified}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuth2Endpoints {
    pub authorize_url: Url,
    pub token_url: Url,
    pub userinfo_url: Url,
    pub emails_url: Url,
}

impl Default for OAuth2Endpoints {
    fn default() -> Self {
        Self {
            authorize_url: url("https://github.com/login/oauth/authorize"),
            token_url: url("https://github.com/login/oauth/access_token"),
            userinfo_url: url("https://api.github.com/user"),
            emails_url: url("https://api.github.com/user/emails"),
        }
    }
}

impl SocialProvider {
    fn validate(&self) -> Result<(), String> {
        let id = &self.id;
        let id_ok = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(format!(
                "social.providers: id `{id}` must be 1-32 characters of a-z, 0-9, - and _"
            ));
        }
        let field = |name: &str| format!("social.providers `{id}`: {name}");
        if self.display_name.trim().is_empty() {
            return Err(field("display_name is required"));
        }
        if self.client_id.is_empty() {
            return Err(field("client_id is required"));
        }
        if self.client_secret.expose().is_empty() {
            return Err(field(
                "client_secret is required (the code is exchanged server-side)",
            ));
        }
        let web = |u: &Url| matches!(u.scheme(), "https" | "http") && u.host().is_some();
        match self.kind {
            SocialKind::Oidc => match &self.issuer {
                Some(u) if web(u) => Ok(()),
                Some(u) => Err(field(&format!("issuer `{u}` is not an http(s) URL"))),
                None => Err(field("kind = \"oidc\" needs issuer")),
            },
            SocialKind::OAuth2 => {
                let e = &self.oauth2;
                for (name, u) in [
                    ("authorize_url", &e.authorize_url),
                    ("token_url", &e.token_url),
                    ("userinfo_url", &e.userinfo_url),
                    ("emails_url", &e.emails_url),
                ] {
                    if !web(u) {
                        return Err(field(&format!("oauth2.{name} `{u}` is not an http(s) URL")));
                    }
                }
                if self.issuer.is_some() {
                    return Err(field("issuer is for kind = \"oidc\" only"));
                }
                Ok(())
            }
        }
    }
}

impl Social {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        for (i, p) in self.providers.iter().enumerate() {
            p.validate()?;
            if self.providers[..i].iter().any(|q| q.id == p.id) {
                return Err(format!("social.providers: id `{}` appears twice", p.id));
            }
        }
        Ok(())
    }
}
