//! Request-rate limits by key (client IP, login identifier). Checked before
//! any password hash is computed, so a flood costs us a map lookup, not
//! argon2 time. Counters live in this node's memory for now.

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use oneauth_core::Error;
use oneauth_core::config::Limits as LimitsConfig;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// One keyed limit; `None` when configured off.
struct Limit(Option<DefaultKeyedRateLimiter<String>>);

impl Limit {
    fn per_minute(n: u32) -> Self {
        Self(NonZeroU32::new(n).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))))
    }

    fn check(&self, key: &str) -> Result<(), Error> {
        let Some(limiter) = &self.0 else {
            return Ok(());
        };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    fn retain_recent(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
        }
    }
}

pub struct Limits {
    login_identifier: Limit,
    login_ip: Limit,
    token_ip: Limit,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig) -> Self {
        Self {
            login_identifier: Limit::per_minute(cfg.login_per_identifier_per_minute),
            login_ip: Limit::per_minute(cfg.login_per_ip_per_minute),
            token_ip: Limit::per_minute(cfg.token_per_ip_per_minute),
        }
    }

    /// A password attempt from `ip` for `identifier` (normalised so case
    /// and spaces do not buy extra attempts).
    pub fn login_attempt(&self, ip: Option<IpAddr>, identifier: &str) -> Result<(), Error> {
        if let Some(ip) = ip {
            self.login_ip.check(&ip.to_string())?;
        }
        self.login_identifier
            .check(&identifier.trim().to_lowercase())
    }

    pub fn token_request(&self, ip: Option<IpAddr>) -> Result<(), Error> {
        ip.map_or(Ok(()), |ip| self.token_ip.check(&ip.to_string()))
    }

    /// Forgets idle keys, so memory does not grow with every IP ever seen.
    pub fn retain_recent(&self) {
        for l in [&self.login_identifier, &self.login_ip, &self.token_ip] {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_limit_ignores_case_and_answers_retry_after() {
        let limits = Limits::new(&LimitsConfig {
            login_per_identifier_per_minute: 2,
            login_per_ip_per_minute: 0,
            token_per_ip_per_minute: 0,
        });
        assert!(limits.login_attempt(None, "a@example.com").is_ok());
        assert!(limits.login_attempt(None, " A@Example.com").is_ok());
        match limits.login_attempt(None, "a@example.com") {
            Err(Error::RateLimited { retry_after_secs }) => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(
            limits.login_attempt(None, "b@example.com").is_ok(),
            "other identifiers are not affected"
        );
    }
}
