//! Configuration types. Loading (TOML < `ONEAUTH_*` env < flags) lives in the
//! binary; these structs are the single source of every setting and its
//! default. Durations are whole seconds.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

mod miniprogram;
pub use miniprogram::*;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listen {
    /// Public listener: OAuth2/OIDC and the identity API.
    pub public: SocketAddr,
    /// Login UI listener.
    pub ui: SocketAddr,
    /// Admin listener (clients, identities, keys).
    pub admin: SocketAddr,
}

/// How each of the three listeners treats connections and requests, so
/// that slow or idle clients cannot hold its connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Http {
    /// A request's headers must be in within this many seconds of their
    /// first byte (or of connecting, for a connection's first request);
    /// else the connection is closed.
    pub header_read_timeout_secs: u64,
    /// A keep-alive connection that sends nothing for this many seconds
    /// after an answer is closed. Behind a load balancer that reuses idle
    /// connections, keep its idle timeout below this (AWS ALB: 60 s).
    pub idle_timeout_secs: u64,
    /// A request's body must be in within this many seconds of its headers
    /// (bodies are at most `body_limit_bytes`); else 408.
    pub body_read_timeout_secs: u64,
    /// A request, body and handling, must be answered within this many
    /// seconds; else 408.
    pub request_timeout_secs: u64,
    /// Open connections per listener at most; more wait in the kernel's
    /// accept queue until one closes. 0: derived from the open-file limit
    /// (a third of it, less a reserve for the database and files, at most
    /// 10 000).
    pub max_connections: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Secrets {
    /// The system secret (at least 32 characters): encrypts signing keys at
    /// rest and keys the HMACs of tokens, client secrets and CSRF tokens.
    /// When empty, one is generated into `{data_dir}/system.secret` and the
    /// log says so: fine for development, not for a cluster.
    pub system: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tokens {
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub id_token_ttl_secs: u64,
    pub authorization_code_ttl_secs: u64,
    /// How long a login or consent challenge may wait for the user.
    pub challenge_ttl_secs: u64,
    pub access_token_prefix: String,
    pub refresh_token_prefix: String,
    pub authorization_code_prefix: String,
    /// Default id_token signing algorithm: RS256, ES256 or EdDSA.
    pub id_token_signing_alg: SigningAlg,
    /// `opaque` or `jwt` (RFC 9068); a client's `access_token_strategy` wins.
    pub access_token_strategy: AccessTokenStrategy,
    /// A used refresh token replayed within this many seconds gets the same
    /// successor pair again (retries, racing tabs); later, its whole family
    /// is revoked.
    pub refresh_grace_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenStrategy {
    #[default]
    Opaque,
    Jwt,
}

impl AccessTokenStrategy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "opaque" => Some(Self::Opaque),
            "jwt" => Some(Self::Jwt),
            _ => None,
        }
    }
}

/// Request rates per minute; 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Where counters live: `database` (shared by every node: the limits
    /// hold cluster-wide) or `memory` (this node only; for a single node).
    pub backend: LimitBackend,
    /// Password attempts per identifier (UI login and CLI login).
    pub login_per_identifier_per_minute: u32,
    /// Password attempts per client IP.
    pub login_per_ip_per_minute: u32,
    /// Token endpoint requests per client IP.
    pub token_per_ip_per_minute: u32,
    /// Token endpoint requests per client.
    pub token_per_client_per_minute: u32,
}

/// Background upkeep.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Maintenance {
    /// How often expired tokens, codes, flows and sessions are deleted.
    pub cleanup_interval_secs: u64,
    /// Rows deleted per statement, so no write blocks others for long.
    pub cleanup_batch: u32,
    /// How often signing keys are reloaded from the database (rotations
    /// made by `oneauth keys rotate` or another node).
    pub key_reload_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Session {
    /// Name of the login session cookie.
    pub cookie_name: String,
    /// Cookie `Domain`; empty means host-only.
    pub cookie_domain: String,
    /// Lifetime of a login session.
    pub lifetime_secs: u64,
    /// Setting or changing a password needs a login at most this old;
    /// an older session is asked to sign in again
    /// (`reauthentication_required`), so a stolen or forgotten session
    /// cannot take the account over.
    pub privileged_max_age_secs: u64,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Password {
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Most password hashes computed at once, each on its own thread at a
    /// lower scheduling priority than request handling, holding
    /// `argon2_memory_kib` for the life of the process; more wait their
    /// turn. 0: one per core. The priority, not a spare core, keeps token
    /// requests fast during a login storm; a core kept out of hashing would
    /// halve the logins a 2-core machine can serve.
    pub max_concurrent_hashes: usize,
    /// Shortest password accepted, in characters (NIST SP 800-63B: at
    /// least 8). Common passwords from a bundled list are refused; there
    /// are no composition rules.
    pub min_length: usize,
}

/// Login methods.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Login {
    /// Methods offered, in the order of the login page's tabs: `password`,
    /// `email_code`, `sms_code`. An unknown name fails start-up.
    pub methods: Vec<String>,
}

/// One-time codes sent by email or SMS (login, verification, recovery).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Codes {
    /// How long a code stays valid.
    pub ttl_secs: u64,
    /// Guesses allowed per code; then a new code must be sent.
    pub max_attempts: u32,
    /// Seconds before another message (a code or a notice, any kind) may
    /// be sent to the same address.
    pub resend_cooldown_secs: u64,
    /// Messages (codes and notices, every kind together) sent to one
    /// address per hour at most (0: none).
    pub per_address_per_hour: u32,
    /// Wrong codes for one address, over every purpose (login,
    /// verification, recovery), before it is locked out; each further run
    /// of as many locks it out twice as long as the one before.
    pub failures_before_lockout: u32,
    /// The first lock-out.
    pub lockout_base_secs: u64,
    /// The longest lock-out.
    pub lockout_max_secs: u64,
    /// How long wrong codes are remembered, from the first: lock-outs keep
    /// growing for that long, and a correct code does not shorten it.
    pub failure_memory_secs: u64,
}

/// How messages (codes) reach people. Messages are queued in the database
/// and delivered by a background task that retries with back-off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Courier {
    /// `log` (development: logs that a message went out, never its text),
    /// `smtp` or `webhook`.
    pub email_provider: EmailProvider,
    /// `log` or `webhook` (any SMS gateway behind a small adapter).
    pub sms_provider: SmsProvider,
    /// The `From` of emails.
    pub from: String,
    pub smtp: Smtp,
    pub webhook: Webhook,
    /// How often the outbox is checked for due messages (new messages are
    /// sent at once; this paces retries and other nodes' messages).
    pub poll_interval_ms: u64,
    /// Delivery attempts before a message is abandoned.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; it doubles with each further
    /// failure, up to an hour.
    pub backoff_base_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmailProvider {
    #[default]
    Log,
    Smtp,
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    #[default]
    Log,
    Webhook,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// `starttls` (upgrade required), `tls` (implicit TLS, usually port
    /// 465) or `none` (only for a relay on loopback).
    pub tls: SmtpTls,
    pub username: String,
    pub password: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    Starttls,
    Tls,
    None,
}

/// JSON POST of `{channel, to, subject, body, template, message_id}` to
/// `url`, with `X-OneAuth-Signature: sha256=<hex HMAC-SHA256 of the body
/// under secret>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Key of the signature header (at least 16 characters).
    pub secret: String,
    pub timeout_secs: u64,
}

/// The login UI's look.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ui {
    /// Product name in page titles, headings and messages.
    pub brand_name: String,
    /// Accent colour, `#rrggbb`.
    pub brand_color: String,
    /// Logo URL (an `https:` URL or a path on the UI); empty shows the name.
    pub logo_url: String,
    /// Where a login without `login_challenge` or `return_to` ends up;
    /// empty means the UI's settings page.
    pub default_return_to: String,
    /// Directory of operator overrides, loaded at start: page templates
    /// (`login.html`, `base.html`, …; minijinja), `static/` files that
    /// replace or add to the built-in assets, and `messages/` texts of the
    /// courier. Empty: built-in only. See docs/ui-templates.md.
    pub templates_dir: PathBuf,
}

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter such as `info` or `oneauth=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// JWS algorithms OneAuth signs with (RFC 7518 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SigningAlg {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [Self::RS256, Self::ES256, Self::EdDSA];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
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

impl Default for Listen {
    fn default() -> Self {
        Self {
            public: ([0, 0, 0, 0], 8080).into(),
            ui: ([0, 0, 0, 0], 8081).into(),
            admin: ([127, 0, 0, 1], 8082).into(),
        }
    }
}

impl Default for Http {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 10,
            idle_timeout_secs: 75,
            body_read_timeout_secs: 10,
            request_timeout_secs: 30,
            max_connections: 0,
        }
    }
}

impl Http {
    /// Connections per listener: `max_connections`, or with 0 a share of
    /// `open_files` (the soft `RLIMIT_NOFILE`): the three listeners split
    /// it after 256 descriptors kept for the database, the log, the
    /// courier and the runtime, so a flood of connections on one listener
    /// cannot starve the others or the database of descriptors.
    pub fn connections_per_listener(&self, open_files: u64) -> usize {
        const RESERVED: u64 = 256;
        const CEILING: u64 = 10_000;
        const FLOOR: u64 = 16;
        match self.max_connections {
            0 => (open_files.saturating_sub(RESERVED) / 3).clamp(FLOOR, CEILING) as usize,
            n => n,
        }
    }
}

impl Default for Tokens {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            id_token_ttl_secs: 3600,
            authorization_code_ttl_secs: 600,
            challenge_ttl_secs: 1800,
            access_token_prefix: "ory_at_".into(),
            refresh_token_prefix: "ory_rt_".into(),
            authorization_code_prefix: "ory_ac_".into(),
            id_token_signing_alg: SigningAlg::RS256,
            access_token_strategy: AccessTokenStrategy::Opaque,
            refresh_grace_secs: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LimitBackend {
    #[default]
    Database,
    Memory,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            backend: LimitBackend::Database,
            login_per_identifier_per_minute: 10,
            login_per_ip_per_minute: 60,
            token_per_ip_per_minute: 60_000,
            token_per_client_per_minute: 120_000,
        }
    }
}

impl Default for Maintenance {
    fn default() -> Self {
        Self {
            cleanup_interval_secs: 300,
            cleanup_batch: 1000,
            key_reload_interval_secs: 10,
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self {
            cookie_name: "ory_kratos_session".into(),
            cookie_domain: String::new(),
            lifetime_secs: 24 * 3600,
            privileged_max_age_secs: 600,
        }
    }
}

impl Default for Password {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
            min_length: 8,
        }
    }
}

impl Password {
    /// `max_concurrent_hashes`, with 0 resolved to the cores.
    pub fn hashing_threads(&self) -> usize {
        match self.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for Login {
    fn default() -> Self {
        Self {
            methods: vec!["password".into(), "email_code".into(), "sms_code".into()],
        }
    }
}

impl Default for Codes {
    fn default() -> Self {
        Self {
            ttl_secs: 600,
            max_attempts: 5,
            resend_cooldown_secs: 60,
            per_address_per_hour: 10,
            failures_before_lockout: 5,
            lockout_base_secs: 60,
            lockout_max_secs: 86_400,
            failure_memory_secs: 7 * 86_400,
        }
    }
}

impl Default for Courier {
    fn default() -> Self {
        Self {
            email_provider: EmailProvider::Log,
            sms_provider: SmsProvider::Log,
            from: "OneAuth <no-reply@localhost>".into(),
            smtp: Smtp::default(),
            webhook: Webhook::default(),
            poll_interval_ms: 1000,
            max_attempts: 10,
            backoff_base_secs: 5,
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: String::new(),
            timeout_secs: 15,
        }
    }
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            url: String::new(),
            secret: String::new(),
            timeout_secs: 10,
        }
    }
}

impl Default for Ui {
    fn default() -> Self {
        Self {
            brand_name: "OneAuth".into(),
            brand_color: "#3b5bdb".into(),
            logo_url: String::new(),
            default_return_to: String::new(),
            templates_dir: PathBuf::new(),
        }
    }
}

impl Default for Log {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
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
        if !self.secrets.system.is_empty() && self.secrets.system.len() < 32 {
            return Err("secrets.system must be at least 32 characters".into());
        }
        for o in &self.cors.first_party_origins {
            let bare = o.path() == "/" && o.query().is_none() && o.fragment().is_none();
            let plain = o.username().is_empty() && o.password().is_none();
            if !(matches!(o.scheme(), "http" | "https") && o.host().is_some() && bare && plain) {
                return Err(format!(
                    "cors.first_party_origins: `{o}` is not an origin (scheme://host[:port])"
                ));
            }
        }
        let h = &self.http;
        if h.header_read_timeout_secs == 0
            || h.idle_timeout_secs == 0
            || h.body_read_timeout_secs == 0
            || h.request_timeout_secs == 0
        {
            return Err("http.*_timeout_secs must be positive".into());
        }
        if h.max_connections > 1_000_000 {
            return Err("http.max_connections must be at most 1000000".into());
        }
        if self.password.min_length < 8 {
            return Err("password.min_length must be at least 8 (NIST SP 800-63B)".into());
        }
        if self.codes.max_attempts == 0 || self.codes.ttl_secs == 0 {
            return Err("codes.max_attempts and codes.ttl_secs must be positive".into());
        }
        let k = &self.codes;
        if k.failures_before_lockout == 0
            || k.lockout_base_secs == 0
            || k.lockout_max_secs < k.lockout_base_secs
        {
            return Err("codes.failures_before_lockout and codes.lockout_base_secs must be positive, and codes.lockout_max_secs at least codes.lockout_base_secs".into());
        }
        let c = &self.courier;
        if c.email_provider == EmailProvider::Smtp && c.smtp.host.is_empty() {
            return Err("courier.email_provider = smtp needs courier.smtp.host".into());
        }
        let webhook_used =
            c.email_provider == EmailProvider::Webhook || c.sms_provider == SmsProvider::Webhook;
        if webhook_used && (c.webhook.url.is_empty() || c.webhook.secret.len() < 16) {
            return Err(
                "a webhook provider needs courier.webhook.url and a courier.webhook.secret of at least 16 characters"
                    .into(),
            );
        }
        for (i, p) in self.social.providers.iter().enumerate() {
            p.validate()?;
            if self.social.providers[..i].iter().any(|q| q.id == p.id) {
                return Err(format!("social.providers: id `{}` appears twice", p.id));
            }
        }
        self.miniprogram.validate()?;
        let color = self.ui.brand_color.as_bytes();
        if color.len() != 7 || color[0] != b'#' || !color[1..].iter().all(u8::is_ascii_hexdigit) {
            return Err("ui.brand_color must look like #3b5bdb".into());
        }
        if self.issuer.cannot_be_a_base()
            || self.issuer.query().is_some()
            || self.issuer.fragment().is_some()
        {
            return Err("issuer must be an http(s) URL without query or fragment".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Http, Password};

    #[test]
    fn connections_per_listener_follow_the_open_file_limit() {
        let auto = Http::default();
        // systemd's default soft limit: (1024 - 256) / 3.
        assert_eq!(auto.connections_per_listener(1024), 256);
        assert_eq!(auto.connections_per_listener(1 << 20), 10_000);
        assert_eq!(auto.connections_per_listener(u64::MAX), 10_000);
        assert_eq!(auto.connections_per_listener(100), 16);
        let set = Http {
            max_connections: 50,
            ..Http::default()
        };
        assert_eq!(set.connections_per_listener(1024), 50);
    }

    #[test]
    fn hashing_threads_default_to_one_per_core() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(Password::default().hashing_threads(), cores);
        let three = Password {
            max_concurrent_hashes: 3,
            ..Password::default()
        };
        assert_eq!(three.hashing_threads(), 3);
    }
}
