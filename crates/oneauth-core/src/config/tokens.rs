//! Token lifetimes and signing: what the authorization server issues.

use serde::{Deserialize, Serialize};

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

impl Secrets {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        if !self.system.is_empty() && self.system.len() < 32 {
            return Err("secrets.system must be at least 32 characters".into());
        }
        Ok(())
    }
}
