//! WeChat mini-programs: `jscode2session` turns a `wx.login()` code into
//! the person's `openid` (and `unionid` when the app belongs to an open
//! platform account), `stable_token` gives the app access token, and
//! `getuserphonenumber` turns a `getPhoneNumber` code into the number
//! WeChat verified. Every answer carries `errcode` (0 or absent: success).

use super::{AppToken, MiniProgramPlatform, PlatformError, PlatformSession};
use async_trait::async_trait;
use oneauth_core::SecretString;
use oneauth_core::config::MiniProgramApp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

pub(super) struct WeChat {
    http: reqwest::Client,
    app_id: String,
    secret: SecretString,
    /// Without a trailing slash.
    base: String,
}

impl WeChat {
    pub(super) fn new(app: &MiniProgramApp, http: reqwest::Client) -> Self {
        Self {
            http,
            app_id: app.app_id.clone(),
            secret: app.app_secret.clone(),
            base: app.api_base().as_str().trim_end_matches('/').to_owned(),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, PlatformError> {
        let res = req.send().await.map_err(unreachable)?;
        if !res.status().is_success() {
            return Err(PlatformError::Unavailable(format!("HTTP {}", res.status())));
        }
        let answer: Answer<T> = res.json().await.map_err(unreachable)?;
        match answer.errcode {
            0 => Ok(answer.body),
            n => Err(classify(n)),
        }
    }
}

/// A failed request's cause without its URL, which carries the app secret
/// (`jscode2session`) or the app access token (`getuserphonenumber`).
fn unreachable(e: reqwest::Error) -> PlatformError {
    let what = if e.is_timeout() { "timed out: " } else { "" };
    PlatformError::Unavailable(format!("{what}{}", e.without_url()))
}

/// WeChat's error numbers (the mini-program server API documentation).
fn classify(errcode: i64) -> PlatformError {
    match errcode {
        // Invalid code; code used already.
        40029 | 40163 => PlatformError::InvalidCode,
        // Access token invalid (replaced by a forced refresh) or expired.
        40001 | 42001 => PlatformError::StaleAppToken(errcode),
        // The API's per-minute quota.
        45011 => PlatformError::RateLimited,
        // "System busy, retry later."
        -1 => PlatformError::Unavailable("busy (errcode -1)".into()),
        n => PlatformError::Refused(n),
    }
}

/// Every answer: `errcode` (0 or absent on success) beside the fields of
/// the call, which are therefore all optional.
#[derive(Deserialize)]
struct Answer<T> {
    #[serde(default)]
    errcode: i64,
    #[serde(flatten)]
    body: T,
}

/// `jscode2session`'s answer. Its `session_key` has no field here: serde
/// skips it unread, so it is never kept, returned or logged.
#[derive(Deserialize)]
struct Session {
    openid: Option<String>,
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct StableToken {
    access_token: Option<String>,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct PhoneAnswer {
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    /// Without the country code.
    pure_phone_number: String,
    country_code: String,
}

fn missing(what: &str) -> PlatformError {
    PlatformError::Unavailable(format!("the answer has no {what}"))
}

#[async_trait]
impl MiniProgramPlatform for WeChat {
    async fn code_to_session(&self, code: &str) -> Result<PlatformSession, PlatformError> {
        let req = self
            .http
            .get(format!("{}/sns/jscode2session", self.base))
            .query(&[
                ("appid", self.app_id.as_str()),
                ("secret", self.secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ]);
        let s: Session = self.call(req).await?;
        Ok(PlatformSession {
            openid: s
                .openid
                .filter(|o| !o.is_empty())
                .ok_or_else(|| missing("openid"))?,
            unionid: s.unionid.filter(|u| !u.is_empty()),
        })
    }

    /// The stable token: fetching it again returns the same token while it
    /// lives, so nodes that fetch at once do not invalidate each other's
    /// (`/cgi-bin/token` would).
    async fn app_token(&self) -> Result<AppToken, PlatformError> {
        let req = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .json(&json!({
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.secret.expose(),
                "force_refresh": false,
            }));
        let t: StableToken = self.call(req).await?;
        Ok(AppToken {
            token: t
                .access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| missing("access_token"))?,
            expires_in: t.expires_in.ok_or_else(|| missing("expires_in"))?,
        })
    }

    async fn phone_number(&self, app_token: &str, code: &str) -> Result<String, PlatformError> {
        let req = self
            .http
            .post(format!("{}/wxa/business/getuserphonenumber", self.base))
            .query(&[("access_token", app_token)])
            .json(&json!({ "code": code }));
        let p: PhoneAnswer = self.call(req).await?;
        let info = p.phone_info.ok_or_else(|| missing("phone_info"))?;
        Ok(format!("+{}{}", info.country_code, info.pure_phone_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_numbers_map_to_what_the_server_does_about_them() {
        assert!(matches!(classify(40029), PlatformError::InvalidCode));
        assert!(matches!(classify(40163), PlatformError::InvalidCode));
        assert!(matches!(
            classify(42001),
            PlatformError::StaleAppToken(42001)
        ));
        assert!(matches!(classify(45011), PlatformError::RateLimited));
        assert!(matches!(classify(-1), PlatformError::Unavailable(_)));
        assert!(matches!(classify(40013), PlatformError::Refused(40013)));
    }

    #[test]
    fn the_session_key_is_not_read() {
        let a: Answer<Session> = serde_json::from_str(
            r#"{"openid": "o1", "session_key": "secret-session-key", "unionid": "u1"}"#,
        )
        .unwrap();
        let s = a.body;
        assert_eq!(a.errcode, 0);
        assert_eq!(s.openid.as_deref(), Some("o1"));
        assert_eq!(s.unionid.as_deref(), Some("u1"));
    }
}
