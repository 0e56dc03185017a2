//! Configuration types. Loading (TOML < `ONEAUTH_*` env < flags) lives in the
//! binary; these structs are the single source of every setting and its
//! default. Durations are whole seconds.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

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
    /// Bearer token required on the admin listener. Without it the admin
    /// listener only binds loopback addresses.
    pub admin_token: String,
    pub secrets: Secrets,
    pub tokens: Tokens,
    pub session: Session,
    pub password: Password,
    pub log: Log,
    pub limits: Limits,
    pub maintenance: Maintenance,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
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
    /// Most password hashes computed at once; more wait their turn.
    pub max_concurrent_hashes: usize,
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
            admin_token: String::new(),
            secrets: Secrets::default(),
            tokens: Tokens::default(),
            session: Session::default(),
            password: Password::default(),
            log: Log::default(),
            limits: Limits::default(),
            maintenance: Maintenance::default(),
            body_limit_bytes: 64 * 1024,
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
        }
    }
}

impl Default for Password {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 4,
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
        if self.issuer.cannot_be_a_base()
            || self.issuer.query().is_some()
            || self.issuer.fragment().is_some()
        {
            return Err("issuer must be an http(s) URL without query or fragment".into());
        }
        Ok(())
    }
}
