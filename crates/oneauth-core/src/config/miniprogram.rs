//! Mini-program login settings: the apps on WeChat-style platforms whose
//! login codes OneAuth exchanges with the platform's server API. Not the
//! exchange itself (that is `oneauth_identity::method::miniprogram`).

use crate::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// Mini-programs (`[[miniprogram.apps]]`): each serves one OneAuth client,
/// whose registered scope its logins get.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MiniProgram {
    /// Seconds a call to a platform's API may take; a slower (or failed)
    /// platform answers `503` with code `5503`, and nothing is created.
    pub timeout_secs: u64,
    /// The apps (TOML: `[[miniprogram.apps]]`).
    pub apps: Vec<MiniProgramApp>,
}

impl Default for MiniProgram {
    fn default() -> Self {
        Self {
            timeout_secs: 5,
            apps: Vec::new(),
        }
    }
}

/// One mini-program at its platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiniProgramApp {
    /// The platform: `wechat`.
    pub kind: MiniProgramKind,
    /// The OneAuth client whose tokens a login of this app gets (register
    /// it as usual; one app per client).
    pub client_id: String,
    /// The platform's id of the app (WeChat `appid`, `wx…`).
    pub app_id: String,
    /// Kept out of logs and `Debug`; sent only to the platform's API.
    #[serde(default)]
    pub app_secret: SecretString,
    /// The platform's API; unset means its real one (WeChat:
    /// `https://api.weixin.qq.com`). Tests point it at a stand-in.
    #[serde(default)]
    pub api_base: Option<Url>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MiniProgramKind {
    Wechat,
}

impl MiniProgramKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
        }
    }

    fn default_api_base(self) -> Url {
        match self {
            Self::Wechat => Url::parse("https://api.weixin.qq.com").expect("static URL"),
        }
    }
}

impl MiniProgramApp {
    pub fn api_base(&self) -> Url {
        self.api_base
            .clone()
            .unwrap_or_else(|| self.kind.default_api_base())
    }

    fn validate(&self) -> Result<(), String> {
        let field = |what: &str| format!("miniprogram.apps `{}`: {what}", self.app_id);
        // The app id names the app's link table entries and its cached app
        // token: nothing that could be confused with another app's.
        let id_ok = !self.app_id.is_empty()
            && self.app_id.len() <= 64
            && self
                .app_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(format!(
                "miniprogram.apps: app_id `{}` must be 1-64 characters of A-Z, a-z, 0-9, - and _",
                self.app_id
            ));
        }
        if self.client_id.is_empty() {
            return Err(field("client_id is required"));
        }
        if self.app_secret.expose().is_empty() {
            return Err(field(
                "app_secret is required (login codes are exchanged server-side)",
            ));
        }
        let base = self.api_base();
        if !matches!(base.scheme(), "https" | "http") || base.host().is_none() {
            return Err(field(&format!("api_base `{base}` is not an http(s) URL")));
        }
        Ok(())
    }
}

impl MiniProgram {
    /// Checks what serde cannot (an unknown `kind` fails in serde already).
    pub fn validate(&self) -> Result<(), String> {
        if self.timeout_secs == 0 {
            return Err("miniprogram.timeout_secs must be positive".into());
        }
        for (i, app) in self.apps.iter().enumerate() {
            app.validate()?;
            let earlier = &self.apps[..i];
            if earlier.iter().any(|a| a.client_id == app.client_id) {
                return Err(format!(
                    "miniprogram.apps: client_id `{}` serves two apps",
                    app.client_id
                ));
            }
            if earlier
                .iter()
                .any(|a| a.kind == app.kind && a.app_id == app.app_id)
            {
                return Err(format!(
                    "miniprogram.apps: app_id `{}` appears twice",
                    app.app_id
                ));
            }
        }
        Ok(())
    }

    /// The app that serves `client_id`.
    pub fn app_for_client(&self, client_id: &str) -> Option<&MiniProgramApp> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(client_id: &str, app_id: &str, secret: &str) -> MiniProgramApp {
        MiniProgramApp {
            kind: MiniProgramKind::Wechat,
            client_id: client_id.into(),
            app_id: app_id.into(),
            app_secret: SecretString::new(secret),
            api_base: None,
        }
    }

    #[test]
    fn apps_need_a_secret_a_plain_app_id_and_their_own_client() {
        let ok = MiniProgram {
            apps: vec![app("shop", "wx1", "s"), app("blog", "wx2", "s")],
            ..MiniProgram::default()
        };
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.apps[0].api_base().as_str(), "https://api.weixin.qq.com/");
        for (apps, says) in [
            (vec![app("shop", "wx1", "")], "app_secret is required"),
            (vec![app("shop", "wx:1", "s")], "app_id `wx:1`"),
            (vec![app("", "wx1", "s")], "client_id is required"),
            (
                vec![app("shop", "wx1", "s"), app("shop", "wx2", "s")],
                "serves two apps",
            ),
            (
                vec![app("shop", "wx1", "s"), app("blog", "wx1", "s")],
                "appears twice",
            ),
        ] {
            let err = MiniProgram {
                apps,
                ..MiniProgram::default()
            }
            .validate()
            .unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }
}
