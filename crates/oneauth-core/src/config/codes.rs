//! One-time codes sent by mail or SMS: lifetime, attempts, lockout.

use serde::{Deserialize, Serialize};

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

impl Codes {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 || self.ttl_secs == 0 {
            return Err("codes.max_attempts and codes.ttl_secs must be positive".into());
        }
        if self.failures_before_lockout == 0
            || self.lockout_base_secs == 0
            || self.lockout_max_secs < self.lockout_base_secs
        {
            return Err("codes.failures_before_lockout and codes.lockout_base_secs must be positive, and codes.lockout_max_secs at least codes.lockout_base_secs".into());
        }
        Ok(())
    }
}
