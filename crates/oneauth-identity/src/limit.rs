//! Request-rate limits by key (client IP, login identifier), in fixed
//! one-minute windows. Checked before any password hash is computed, so a
//! flood costs a counter, not argon2 time. Counters live in the database
//! (every node shares them: the limits hold cluster-wide) or, for a single
//! node, in memory.

use async_trait::async_trait;
use oneauth_core::Error;
use oneauth_core::config::{LimitBackend, Limits as LimitsConfig};
use oneauth_store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

const WINDOW_SECS: i64 = 60;

/// Counts hits per key and window.
#[async_trait]
pub trait Counter: Send + Sync {
    /// Counts one hit; returns the hits in `key`'s current window.
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64, Error>;
    /// Forgets windows that ended before `now`.
    fn forget_before(&self, now: i64);
}

/// This node's memory.
#[derive(Default)]
pub struct MemoryCounter(Mutex<HashMap<String, (i64, i64)>>);

#[async_trait]
impl Counter for MemoryCounter {
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64, Error> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key.to_owned()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 += 1;
        Ok(entry.1)
    }

    fn forget_before(&self, now: i64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (start, _)| *start + WINDOW_SECS > now);
    }
}

/// The shared database: one atomic upsert per hit.
pub struct StoreCounter(pub Arc<dyn Store>);

#[async_trait]
impl Counter for StoreCounter {
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64, Error> {
        Ok(self
            .0
            .hit(key, window_start, window_start + 2 * WINDOW_SECS)
            .await?)
    }

    /// The periodic cleanup deletes expired rows.
    fn forget_before(&self, _now: i64) {}
}

pub struct Limits {
    counter: Box<dyn Counter>,
    cfg: LimitsConfig,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig, store: Arc<dyn Store>) -> Self {
        let counter: Box<dyn Counter> = match cfg.backend {
            LimitBackend::Database => Box::new(StoreCounter(store)),
            LimitBackend::Memory => Box::<MemoryCounter>::default(),
        };
        Self {
            counter,
            cfg: cfg.clone(),
        }
    }

    async fn check(
        &self,
        bucket: &str,
        subject: &str,
        per_minute: u32,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        if per_minute == 0 {
            return Ok(());
        }
        // Keys are hashed: the table holds no addresses or identifiers.
        let key = oneauth_crypto::b64url(oneauth_crypto::sha256(format!("{bucket}\0{subject}")));
        let now = now.unix_timestamp();
        let window_start = now - now.rem_euclid(WINDOW_SECS);
        if self.counter.hit(&key, window_start).await? > i64::from(per_minute) {
            let retry_after_secs = (window_start + WINDOW_SECS - now).max(1) as u64;
            metrics_rejected(bucket);
            return Err(Error::RateLimited { retry_after_secs });
        }
        Ok(())
    }

    /// A password or code attempt from `ip` for `identifier` (normalised so
    /// case and spaces do not buy extra attempts).
    pub async fn login_attempt(
        &self,
        ip: Option<IpAddr>,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        if let Some(ip) = ip {
            self.check(
                "login-ip",
                &ip.to_string(),
                self.cfg.login_per_ip_per_minute,
                now,
            )
            .await?;
        }
        self.check(
            "login-id",
            &identifier.trim().to_lowercase(),
            self.cfg.login_per_identifier_per_minute,
            now,
        )
        .await
    }

    pub async fn token_request(
        &self,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        match ip {
            Some(ip) => {
                self.check(
                    "token-ip",
                    &ip.to_string(),
                    self.cfg.token_per_ip_per_minute,
                    now,
                )
                .await
            }
            None => Ok(()),
        }
    }

    pub async fn client_request(&self, client_id: &str, now: OffsetDateTime) -> Result<(), Error> {
        self.check(
            "token-client",
            client_id,
            self.cfg.token_per_client_per_minute,
            now,
        )
        .await
    }

    pub fn forget_before(&self, now: OffsetDateTime) {
        self.counter.forget_before(now.unix_timestamp());
    }
}

fn metrics_rejected(bucket: &str) {
    metrics::counter!("oneauth_rate_limited_total", "limit" => bucket.to_owned()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_identifier: u32) -> Limits {
        Limits {
            counter: Box::<MemoryCounter>::default(),
            cfg: LimitsConfig {
                backend: LimitBackend::Memory,
                login_per_identifier_per_minute: per_identifier,
                login_per_ip_per_minute: 0,
                token_per_ip_per_minute: 0,
                token_per_client_per_minute: 0,
            },
        }
    }

    #[tokio::test]
    async fn identifier_limit_ignores_case_and_answers_retry_after() {
        let l = limits(2);
        let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
        assert!(l.login_attempt(None, "a@example.com", t).await.is_ok());
        assert!(l.login_attempt(None, " A@Example.com", t).await.is_ok());
        match l.login_attempt(None, "a@example.com", t).await {
            // 1_000_020 is a multiple of 60: a full window lies ahead.
            Err(Error::RateLimited { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 60)
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(
            l.login_attempt(None, "b@example.com", t).await.is_ok(),
            "other identifiers are not affected"
        );
        let next_window = t + time::Duration::seconds(60);
        assert!(
            l.login_attempt(None, "a@example.com", next_window)
                .await
                .is_ok()
        );
    }
}
