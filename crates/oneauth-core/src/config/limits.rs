//! Rate limits and the background cleaner.

use serde::{Deserialize, Serialize};

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
