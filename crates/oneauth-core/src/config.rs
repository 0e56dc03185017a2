//! Configuration types. Loading (TOML < `ONEAUTH_*` env < flags) lives in the
//! binary; these structs are the single source of every setting and its
//! default. Durations are whole seconds.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use url::Url;

mod codes;
mod cors;
mod courier;
mod http;
mod limits;
mod log;
mod mfa;
mod miniprogram;
mod session;
mod social;
mod tokens;
mod ui;

pub use codes::Codes;
pub use cors::Cors;
pub use courier::{Courier, EmailProvider, SmsProvider, Smtp, SmtpTls, Webhook};
pub use http::{Http, Listen};
pub use limits::{LimitBackend, Limits, Maintenance};
pub use log::{Log, LogFormat};
pub use mfa::{Mfa, MfaPolicy, Passkeys};
pub use miniprogram::*;
pub use session::{Login, Password, Session};
pub use social::{OAuth2Endpoints, Social, SocialKind, SocialProvider};
pub use tokens::{AccessTokenStrategy, Secrets, SigningAlg, Tokens};
pub use ui::Ui;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer URL (`iss`), exactly as clients see it behind TLS and load
    /// balancers. Also the base of every public endpoint URL.
    pub issuer: Url,
    /// Base URL of the login UI (`/login`, `/consent`, `/error`).
    pub ui_url: Url,
    /// Directory for the SQLite database and, in development, the generated
    /// system secret.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; empty means `sqlite://{data_dir}/oneauth.db`.
    pub database_url: String,
    pub listen: Listen,
    pub http: Http,
    /// Bearer token required on the admin listener. Without it the admin
    /// listener only binds loopback addresses and only answers requests
    /// whose `Host` is a loopback name (DNS rebinding).
    pub admin_token: String,
    pub secrets: Secrets,
    pub tokens: Tokens,
    pub session: Session,
    pub password: Password,
    pub log: Log,
    pub limits: Limits,
    pub maintenance: Maintenance,
    pub login: Login,
    pub mfa: Mfa,
    pub passkeys: Passkeys,
    pub codes: Codes,
    pub courier: Courier,
    pub ui: Ui,
    pub social: Social,
    pub miniprogram: MiniProgram,
    pub cors: Cors,
    /// Largest accepted request body, in bytes, on every listener.
    pub body_limit_bytes: usize,
    /// Allow client registrations with `http` redirect or post-logout
    /// redirect URIs on hosts other than loopback (`127.0.0.1`, `[::1]`,
    /// `localhost`; RFC 8252 §7.3). Development only: codes and tokens
    /// would cross the network in clear.
    pub allow_http_redirect_uris: bool,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is
    /// believed; from any other peer the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// On SIGTERM, how long in-flight requests may take before the process
    /// exits anyway.
    pub shutdown_timeout_secs: u64,
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("static default URL")
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: url("http://127.0.0.1:8080"),
            ui_url: url("http://127.0.0.1:8081"),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            listen: Listen::default(),
            http: Http::default(),
            admin_token: String::new(),
            secrets: Secrets::default(),
            tokens: Tokens::default(),
            session: Session::default(),
            password: Password::default(),
            log: Log::default(),
            limits: Limits::default(),
            maintenance: Maintenance::default(),
            login: Login::default(),
            mfa: Mfa::default(),
            passkeys: Passkeys::default(),
            codes: Codes::default(),
            courier: Courier::default(),
            ui: Ui::default(),
            social: Social::default(),
            miniprogram: MiniProgram::default(),
            cors: Cors::default(),
            body_limit_bytes: 64 * 1024,
            allow_http_redirect_uris: false,
            trusted_proxies: Vec::new(),
            shutdown_timeout_secs: 10,
        }
    }
}

impl Config {
    /// The storage URL, with the SQLite default filled in.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("oneauth.db").display())
        } else {
            self.database_url.clone()
        }
    }

    /// Cookies get `Secure` when the UI is served over HTTPS.
    pub fn cookies_secure(&self) -> bool {
        self.ui_url.scheme() == "https"
    }

    /// Checks what serde cannot: relations between settings.
    pub fn validate(&self) -> Result<(), String> {
        if !self.admin_token.is_empty() && self.admin_token.len() < 16 {
            return Err("admin_token must be at least 16 characters".into());
        }
        if self.admin_token.is_empty() && !self.listen.admin.ip().is_loopback() {
            return Err(format!(
                "listen.admin = {} is not a loopback address: set admin_token first",
                self.listen.admin
            ));
        }
        self.secrets.validate()?;
        self.cors.validate()?;
        self.http.validate()?;
        self.password.validate()?;
        self.codes.validate()?;
        self.courier.validate()?;
        self.social.validate()?;
        self.miniprogram.validate()?;
        self.ui.validate()?;
        if self.issuer.cannot_be_a_base()
            || self.issuer.query().is_some()
            || self.issuer.fragment().is_some()
        {
            return Err("issuer must be an http(s) URL without query or fragment".into());
        }
        Ok(())
    }
}
