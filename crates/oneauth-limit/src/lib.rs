//! Request-rate limits by route class and key, in fixed one-minute
//! windows, and budgets written by compare-and-swap. Checked before any
//! password hash is computed, so a flood costs a counter, not argon2 time.
//! Counters live in the database (every node shares them: the limits hold
//! cluster-wide) or, for a single node, in memory. Login limits count every
//! attempt in the database; the high-rate token-endpoint limits count
//! locally and add up in the database every [`FLUSH`], so they cost no
//! write per request. Per-IP limits count an IPv6 client by its /64.
//!
//! This crate knows keys, windows and budgets, not what they mean: which
//! identifier a login attempt counts on is the identity service's rule
//! (`oneauth_identity::limit`), and so are the budgets' rules (an
//! address's sends and code guesses).

mod budgets;
mod counter;

use budgets::{Budgets, MemoryBudgets, StoreBudgets};
use counter::WINDOW_SECS;
pub use counter::{BufferedCounter, Counter, FLUSH, MemoryCounter, StoreCounter};
use oneauth_core::Error;
use oneauth_core::config::{LimitBackend, Limits as LimitsConfig};
use oneauth_store::{Budget, Store};
use std::net::IpAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a limit counts, by route class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Password and code attempts, codes sent and sign-ups, per client IP
    /// ([`ip_key`]).
    LoginIp,
    /// The same, per login identifier.
    LoginIdentifier,
    /// The same, per identity an identifier names: an account's email,
    /// phone and username share one budget.
    LoginIdentity,
    /// Token endpoint requests, per client IP.
    TokenIp,
    /// Token endpoint requests, per authenticated client.
    TokenClient,
}

/// Where a class counts.
enum Counted {
    /// Every hit in the shared counter.
    Every,
    /// Locally, added up every [`FLUSH`].
    Buffered,
}

impl Class {
    /// The one table of limits: each class's bucket (part of its keys),
    /// its setting (hits a minute; 0 turns it off) and where it counts.
    fn rule(self, cfg: &LimitsConfig) -> (&'static str, u32, Counted) {
        match self {
            Self::LoginIp => ("login-ip", cfg.login_per_ip_per_minute, Counted::Every),
            Self::LoginIdentifier => (
                "login-id",
                cfg.login_per_identifier_per_minute,
                Counted::Every,
            ),
            Self::LoginIdentity => (
                "login-identity",
                cfg.login_per_identifier_per_minute,
                Counted::Every,
            ),
            Self::TokenIp => ("token-ip", cfg.token_per_ip_per_minute, Counted::Buffered),
            Self::TokenClient => (
                "token-client",
                cfg.token_per_client_per_minute,
                Counted::Buffered,
            ),
        }
    }
}

/// Compare-and-swap rounds before a budget write gives up (a key this
/// contended is being hammered: the caller is asked to come back).
const BUDGET_TRIES: usize = 8;

/// The key of (bucket, subject) in counters and budgets: hashed, so the
/// tables hold no addresses or identifiers.
fn key(bucket: &str, subject: &str) -> String {
    oneauth_crypto::b64url(oneauth_crypto::sha256(format!("{bucket}\0{subject}")))
}

/// What a per-IP limit counts on: an IPv4 address, or an IPv6 address's
/// /64 — one subscriber's network, where a host can take any address.
/// IPv4-mapped IPv6 is the IPv4 address.
pub fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

pub struct Limiter {
    /// Classes counted at every hit, where all nodes see it.
    counter: Box<dyn Counter>,
    /// High rates, counted with a short delay across nodes.
    fast: Box<dyn Counter>,
    budgets: Box<dyn Budgets>,
    cfg: LimitsConfig,
}

impl Limiter {
    pub fn new(cfg: &LimitsConfig, store: Arc<dyn Store>) -> Self {
        let (counter, fast, budgets): (Box<dyn Counter>, Box<dyn Counter>, Box<dyn Budgets>) =
            match cfg.backend {
                LimitBackend::Database => (
                    Box::new(StoreCounter(store.clone())),
                    Box::new(BufferedCounter::new(store.clone(), FLUSH)),
                    Box::new(StoreBudgets(store)),
                ),
                LimitBackend::Memory => (
                    Box::<MemoryCounter>::default(),
                    Box::<MemoryCounter>::default(),
                    Box::<MemoryBudgets>::default(),
                ),
            };
        Self {
            counter,
            fast,
            budgets,
            cfg: cfg.clone(),
        }
    }

    /// Whether `class` is limited at all (its setting is not 0).
    pub fn enabled(&self, class: Class) -> bool {
        class.rule(&self.cfg).1 != 0
    }

    /// Counts one hit of `class` on `subject`; `RateLimited` (with the
    /// rest of the window) over the class's setting.
    pub async fn hit(&self, class: Class, subject: &str, now: OffsetDateTime) -> Result<(), Error> {
        let (bucket, per_minute, counted) = class.rule(&self.cfg);
        if per_minute == 0 {
            return Ok(());
        }
        let counter = match counted {
            Counted::Every => self.counter.as_ref(),
            Counted::Buffered => self.fast.as_ref(),
        };
        let key = key(bucket, subject);
        let now = now.unix_timestamp();
        let window_start = now - now.rem_euclid(WINDOW_SECS);
        if counter.hit(&key, window_start).await? > i64::from(per_minute) {
            let retry_after_secs = (window_start + WINDOW_SECS - now).max(1) as u64;
            metrics_rejected(bucket);
            return Err(Error::RateLimited { retry_after_secs });
        }
        Ok(())
    }

    /// Spends from the budget of (`bucket`, `subject`): `rule` turns its
    /// state (`None`: untouched) into the next one, or refuses. Applied by
    /// compare-and-swap, so nodes spending at once each count the other.
    pub async fn spend<T>(
        &self,
        bucket: &str,
        subject: &str,
        rule: impl Fn(Option<&Budget>) -> Result<(Budget, T), Error>,
    ) -> Result<T, Error> {
        let key = key(bucket, subject);
        for _ in 0..BUDGET_TRIES {
            let current = self.budgets.get(&key).await?;
            let (next, out) = match rule(current.as_ref().map(|(b, _)| b)) {
                Ok(v) => v,
                Err(e) => {
                    metrics_rejected(bucket);
                    return Err(e);
                }
            };
            if self
                .budgets
                .put(&key, &next, current.map(|(_, v)| v))
                .await?
            {
                return Ok(out);
            }
        }
        metrics_rejected(bucket);
        Err(Error::RateLimited {
            retry_after_secs: 1,
        })
    }

    pub fn forget_before(&self, now: OffsetDateTime) {
        self.counter.forget_before(now.unix_timestamp());
        self.fast.forget_before(now.unix_timestamp());
        self.budgets.forget_before(now.unix_timestamp());
    }
}

fn metrics_rejected(bucket: &str) {
    metrics::counter!("oneauth_rate_limited_total", "limit" => bucket.to_owned()).increment(1);
}

#[cfg(test)]
mod tests;
