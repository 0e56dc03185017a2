//! Request-rate limits by key (client IP, login identifier, client), in
//! fixed one-minute windows. Checked before any password hash is computed,
//! so a flood costs a counter, not argon2 time. Counters live in the
//! database (every node shares them: the limits hold cluster-wide) or, for
//! a single node, in memory. Login limits count every attempt in the
//! database; the high-rate token-endpoint limits count locally and add up
//! in the database every [`FLUSH`], so they cost no write per request.

use async_trait::async_trait;
use oneauth_core::Error;
use oneauth_core::config::{LimitBackend, Limits as LimitsConfig};
use oneauth_store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const WINDOW_SECS: i64 = 60;

/// How late a buffered counter may learn of other nodes' hits.
pub const FLUSH: Duration = Duration::from_millis(250);

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
            .hit(key, window_start, window_start + 2 * WINDOW_SECS, 1)
            .await?)
    }

    /// The periodic cleanup deletes expired rows.
    fn forget_before(&self, _now: i64) {}
}

/// Counts locally and adds the counts to the shared counters at most every
/// [`FLUSH`], one write per key, learning the cluster-wide totals. A
/// decision is the last known total plus this node's hits since.
pub struct BufferedCounter {
    store: Arc<dyn Store>,
    every: Duration,
    state: Mutex<Buffered>,
    flushing: tokio::sync::Mutex<()>,
}

struct Buffered {
    entries: HashMap<String, Entry>,
    last_flush: Instant,
}

struct Entry {
    window_start: i64,
    /// Hits not yet in the database.
    pending: i64,
    /// The database's total at the last flush (ours included).
    known: i64,
}

impl BufferedCounter {
    /// Adds up in the database at most `every` (see [`FLUSH`]).
    pub fn new(store: Arc<dyn Store>, every: Duration) -> Self {
        let state = Buffered {
            entries: HashMap::new(),
            last_flush: Instant::now(),
        };
        Self {
            store,
            every,
            state: Mutex::new(state),
            flushing: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Buffered> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush(&self) -> Result<(), Error> {
        // One flush at a time; a request that finds one running goes on.
        let Ok(_running) = self.flushing.try_lock() else {
            return Ok(());
        };
        let batch: Vec<(String, i64, i64)> = {
            let mut st = self.state();
            st.last_flush = Instant::now();
            st.entries
                .iter_mut()
                .filter(|(_, e)| e.pending > 0)
                .map(|(k, e)| (k.clone(), e.window_start, std::mem::take(&mut e.pending)))
                .collect()
        };
        for (key, window_start, count) in batch {
            let result = self
                .store
                .hit(&key, window_start, window_start + 2 * WINDOW_SECS, count)
                .await;
            let mut st = self.state();
            let Some(e) = st
                .entries
                .get_mut(&key)
                .filter(|e| e.window_start == window_start)
            else {
                continue;
            };
            match result {
                Ok(total) => e.known = total,
                Err(err) => {
                    // Not counted yet: keep the hits for the next flush.
                    e.pending += count;
                    return Err(err.into());
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Counter for BufferedCounter {
    async fn hit(&self, key: &str, window_start: i64) -> Result<i64, Error> {
        let due = {
            let mut st = self.state();
            let due = st.last_flush.elapsed() >= self.every;
            let e = st.entries.entry(key.to_owned()).or_insert(Entry {
                window_start,
                pending: 0,
                known: 0,
            });
            if e.window_start != window_start {
                *e = Entry {
                    window_start,
                    pending: 0,
                    known: 0,
                };
            }
            e.pending += 1;
            due
        };
        if due {
            self.flush().await?;
        }
        let st = self.state();
        Ok(st.entries.get(key).map_or(0, |e| e.known + e.pending))
    }

    fn forget_before(&self, now: i64) {
        self.state()
            .entries
            .retain(|_, e| e.pending > 0 || e.window_start + WINDOW_SECS > now);
    }
}

pub struct Limits {
    /// Login attempts: every hit counted where all nodes see it.
    counter: Box<dyn Counter>,
    /// Token requests: high rates, counted with a short delay across nodes.
    fast: Box<dyn Counter>,
    cfg: LimitsConfig,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig, store: Arc<dyn Store>) -> Self {
        let (counter, fast): (Box<dyn Counter>, Box<dyn Counter>) = match cfg.backend {
            LimitBackend::Database => (
                Box::new(StoreCounter(store.clone())),
                Box::new(BufferedCounter::new(store, FLUSH)),
            ),
            LimitBackend::Memory => (
                Box::<MemoryCounter>::default(),
                Box::<MemoryCounter>::default(),
            ),
        };
        Self {
            counter,
            fast,
            cfg: cfg.clone(),
        }
    }

    async fn check(
        &self,
        counter: &dyn Counter,
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
        if counter.hit(&key, window_start).await? > i64::from(per_minute) {
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
                self.counter.as_ref(),
                "login-ip",
                &ip.to_string(),
                self.cfg.login_per_ip_per_minute,
                now,
            )
            .await?;
        }
        self.check(
            self.counter.as_ref(),
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
                    self.fast.as_ref(),
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
            self.fast.as_ref(),
            "token-client",
            client_id,
            self.cfg.token_per_client_per_minute,
            now,
        )
        .await
    }

    pub fn forget_before(&self, now: OffsetDateTime) {
        self.counter.forget_before(now.unix_timestamp());
        self.fast.forget_before(now.unix_timestamp());
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
            fast: Box::<MemoryCounter>::default(),
            cfg: LimitsConfig {
                backend: LimitBackend::Memory,
                login_per_identifier_per_minute: per_identifier,
                login_per_ip_per_minute: 0,
                token_per_ip_per_minute: 0,
                token_per_client_per_minute: 0,
            },
        }
    }

    /// Two nodes' buffered counters over one database add up.
    #[tokio::test]
    async fn buffered_counters_on_two_nodes_add_up_in_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = oneauth_store::open(&format!("sqlite://{}", dir.path().join("l.db").display()))
            .await
            .unwrap();
        let a = BufferedCounter::new(store.clone(), Duration::ZERO);
        let b = BufferedCounter::new(store.clone(), Duration::ZERO);
        assert_eq!(a.hit("k", 60).await.unwrap(), 1);
        assert_eq!(a.hit("k", 60).await.unwrap(), 2);
        assert_eq!(b.hit("k", 60).await.unwrap(), 3, "b sees a's hits");
        assert_eq!(a.hit("k", 60).await.unwrap(), 4, "and a sees b's");
        assert_eq!(
            a.hit("k", 120).await.unwrap(),
            1,
            "a new window starts over"
        );

        // Between flushes a node counts locally, on top of what it knew.
        let slow = BufferedCounter::new(store, Duration::from_secs(3600));
        assert_eq!(slow.hit("k", 120).await.unwrap(), 1);
        assert_eq!(slow.hit("k", 120).await.unwrap(), 2);
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
