//! Request-rate limits by key (client IP, login identifier, client), in
//! fixed one-minute windows. Checked before any password hash is computed,
//! so a flood costs a counter, not argon2 time. Counters live in the
//! database (every node shares them: the limits hold cluster-wide) or, for
//! a single node, in memory. Login limits count every attempt in the
//! database; the high-rate token-endpoint limits count locally and add up
//! in the database every [`FLUSH`], so they cost no write per request.
//!
//! Per-identifier limits count on the identifier as lookups read it, and
//! also on the identity it names, so an account's email, phone and
//! username share one budget (the price: someone who spends one of them
//! can learn that another names the same account). Per-IP limits count an
//! IPv6 client by its /64.
//!
//! Budgets that need more than a counter — an address's send budget
//! ([`SendRule`]) and its wrong-code budget ([`GuessRule`]) — are kept
//! per key the same way (database or memory) and written by
//! compare-and-swap.

use crate::identifier::{LoginIdentifier, identity_with};
use async_trait::async_trait;
use oneauth_core::Error;
use oneauth_core::config::{Codes as CodesConfig, LimitBackend, Limits as LimitsConfig};
use oneauth_store::{Budget, Store};
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

/// Where budgets live; `put` is a compare-and-swap on the version `get`
/// returned (`None`: no budget yet).
#[async_trait]
trait Budgets: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<(Budget, i64)>, Error>;
    async fn put(&self, key: &str, budget: &Budget, version: Option<i64>) -> Result<bool, Error>;
    fn forget_before(&self, now: i64);
}

/// This node's memory.
#[derive(Default)]
struct MemoryBudgets(Mutex<HashMap<String, (Budget, i64)>>);

#[async_trait]
impl Budgets for MemoryBudgets {
    async fn get(&self, key: &str) -> Result<Option<(Budget, i64)>, Error> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map.get(key).copied())
    }

    async fn put(&self, key: &str, budget: &Budget, version: Option<i64>) -> Result<bool, Error> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(key).map(|(_, v)| *v) != version {
            return Ok(false);
        }
        map.insert(key.to_owned(), (*budget, version.unwrap_or(0) + 1));
        Ok(true)
    }

    fn forget_before(&self, now: i64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (b, _)| b.expires_at >= now);
    }
}

/// The shared database.
struct StoreBudgets(Arc<dyn Store>);

#[async_trait]
impl Budgets for StoreBudgets {
    async fn get(&self, key: &str) -> Result<Option<(Budget, i64)>, Error> {
        Ok(self.0.get_budget(key).await?)
    }

    async fn put(&self, key: &str, budget: &Budget, version: Option<i64>) -> Result<bool, Error> {
        Ok(self.0.put_budget(key, budget, version).await?)
    }

    /// The periodic cleanup deletes expired rows.
    fn forget_before(&self, _now: i64) {}
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

/// What a per-identifier limit counts on: the identifier as lookups read
/// it (`+86 138…`, `+86-138…` and `0086 138…` are one), or, when it can
/// name no account, as typed, trimmed and in lower case.
pub fn identifier_key(raw: &str) -> String {
    match LoginIdentifier::parse(raw) {
        Ok(id) => id.as_str().to_owned(),
        Err(_) => raw.trim().to_lowercase(),
    }
}

const HOUR: i64 = 3600;

/// An address's send budget: at most `per_hour` messages of every kind
/// together in an hour-long window that starts at its first message (so
/// at most twice that in any sliding hour), and a cool-down between two
/// messages of one kind (a login code right after a verification code is
/// the normal way of a new account; a second login code at once is a
/// resend). 0 turns either off.
#[derive(Debug, Clone, Copy)]
pub struct SendRule {
    pub cooldown_secs: i64,
    pub per_hour: i64,
}

impl SendRule {
    pub fn from_config(c: &CodesConfig) -> Self {
        Self {
            cooldown_secs: c.resend_cooldown_secs as i64,
            per_hour: i64::from(c.per_address_per_hour),
        }
    }

    /// The cool-down of one kind of message after one more at `now`, or
    /// the wait.
    pub fn cool_down(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        if let Some(b) = b {
            let wait = b.last_at + self.cooldown_secs - now;
            if wait > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: wait as u64,
                });
            }
        }
        Ok(Budget {
            count: 1,
            window_start: now,
            last_at: now,
            locked_until: 0,
            expires_at: now + self.cooldown_secs,
        })
    }

    /// The hourly budget of every kind after one more message at `now`,
    /// or the wait.
    pub fn spend(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        let (count, start) = match b {
            Some(b) if now < b.window_start + HOUR => (b.count, b.window_start),
            _ => (0, now),
        };
        if self.per_hour > 0 && count >= self.per_hour {
            return Err(Error::RateLimited {
                retry_after_secs: (start + HOUR - now).max(1) as u64,
            });
        }
        Ok(Budget {
            count: count + 1,
            window_start: start,
            last_at: now,
            locked_until: 0,
            expires_at: start + HOUR,
        })
    }
}

/// An address's budget of code guesses, over every purpose (login,
/// verification, recovery): after every `per_run`-th guess it is locked
/// out, `base_secs` the first time and twice as long each further time, up
/// to `max_secs`; guesses are remembered for `memory_secs` from the first.
///
/// A guess is charged before its code is compared, so concurrent guesses
/// cannot slip past a lock-out, and a correct one is refunded — only its
/// own charge: the wrong guesses before it stay, or an attacker would get
/// a fresh budget each time the owner logs in.
///
/// The bound ([`GuessRule::max_guesses`]): guessing whenever allowed,
/// which is the best an attacker can do, the defaults (5 guesses a run,
/// 1 minute doubling to at most a day, a week's memory) allow 55 guesses
/// in the first 17 hours, 5 more at 34 hours and 5 a day after that, until
/// the last lock-out of the week ends (at 7.4 days): 85 a cycle, 385 in 30
/// days — a 385 × 10⁻⁶ = 0.0385 % chance at a six-digit code (an account
/// with an email and a phone: 0.077 %). Start-up refuses settings that
/// allow 1000 or more a month (a 0.1 % chance).
#[derive(Debug, Clone, Copy)]
pub struct GuessRule {
    pub per_run: i64,
    pub base_secs: i64,
    pub max_secs: i64,
    pub memory_secs: i64,
}

impl GuessRule {
    pub fn from_config(c: &CodesConfig) -> Self {
        Self {
            per_run: i64::from(c.failures_before_lockout.max(1)),
            base_secs: c.lockout_base_secs.max(1) as i64,
            max_secs: c.lockout_max_secs.max(1) as i64,
            memory_secs: c.failure_memory_secs as i64,
        }
    }

    /// The `run`-th lock-out (from 1).
    fn lockout(&self, run: i64) -> i64 {
        self.base_secs
            .saturating_mul(1 << (run - 1).clamp(0, 40))
            .min(self.max_secs)
    }

    /// The budget after one more guess at `now`, or the lock-out's rest.
    pub fn charge(&self, b: Option<&Budget>, now: i64) -> Result<Budget, Error> {
        if let Some(b) = b
            && b.locked_until > now
        {
            return Err(Error::RateLimited {
                retry_after_secs: (b.locked_until - now) as u64,
            });
        }
        let (count, start) = match b {
            Some(b) if now < b.window_start + self.memory_secs => (b.count + 1, b.window_start),
            _ => (1, now),
        };
        let locked_until = if count % self.per_run == 0 {
            now + self.lockout(count / self.per_run)
        } else {
            0
        };
        Ok(Budget {
            count,
            window_start: start,
            last_at: now,
            locked_until,
            expires_at: (start + self.memory_secs).max(locked_until),
        })
    }

    /// `b` with the guess that made `charged` taken back: it was right.
    pub fn refund(&self, b: Option<&Budget>, charged: &Budget) -> Budget {
        let mut b = b.copied().unwrap_or_default();
        if b.window_start == charged.window_start && b.count > 0 {
            b.count -= 1;
            if charged.locked_until > 0 && b.locked_until == charged.locked_until {
                b.locked_until = 0;
            }
        }
        b
    }

    /// The most guesses one address allows in `period` seconds: those of
    /// an attacker guessing whenever allowed.
    pub fn max_guesses(&self, period: i64) -> i64 {
        let (mut budget, mut t, mut n) = (None, 0, 0);
        while t < period {
            match self.charge(budget.as_ref(), t) {
                Ok(next) => {
                    budget = Some(next);
                    n += 1;
                }
                Err(_) => t = budget.map_or(t + 1, |b| b.locked_until),
            }
        }
        n
    }
}

pub struct Limits {
    /// Login attempts: every hit counted where all nodes see it.
    counter: Box<dyn Counter>,
    /// Token requests: high rates, counted with a short delay across nodes.
    fast: Box<dyn Counter>,
    budgets: Box<dyn Budgets>,
    /// To find the identity an identifier names.
    store: Arc<dyn Store>,
    cfg: LimitsConfig,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig, store: Arc<dyn Store>) -> Self {
        let (counter, fast, budgets): (Box<dyn Counter>, Box<dyn Counter>, Box<dyn Budgets>) =
            match cfg.backend {
                LimitBackend::Database => (
                    Box::new(StoreCounter(store.clone())),
                    Box::new(BufferedCounter::new(store.clone(), FLUSH)),
                    Box::new(StoreBudgets(store.clone())),
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
            store,
            cfg: cfg.clone(),
        }
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

    /// A password or code attempt, a code sent or a sign-up, from `ip` for
    /// `identifier`: counted on the identifier normalised (see
    /// [`identifier_key`]), and on the identity it names if any, so other
    /// spellings and the account's other identifiers buy no extra attempts.
    pub async fn login_attempt(
        &self,
        ip: Option<IpAddr>,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        let per_identifier = self.cfg.login_per_identifier_per_minute;
        if let Some(ip) = ip {
            self.check(
                self.counter.as_ref(),
                "login-ip",
                &ip_key(ip),
                self.cfg.login_per_ip_per_minute,
                now,
            )
            .await?;
        }
        let subject = identifier_key(identifier);
        self.check(
            self.counter.as_ref(),
            "login-id",
            &subject,
            per_identifier,
            now,
        )
        .await?;
        if per_identifier == 0 {
            return Ok(());
        }
        // Looked up only once the identifier's own limit passed, so a flood
        // costs no reads.
        let identity = match LoginIdentifier::parse(&subject) {
            Ok(id) => identity_with(self.store.as_ref(), &id).await?,
            Err(_) => None,
        };
        match identity {
            Some(identity) => {
                self.check(
                    self.counter.as_ref(),
                    "login-identity",
                    &identity.id,
                    per_identifier,
                    now,
                )
                .await
            }
            None => Ok(()),
        }
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
                    &ip_key(ip),
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
        self.budgets.forget_before(now.unix_timestamp());
    }
}

fn metrics_rejected(bucket: &str) {
    metrics::counter!("oneauth_rate_limited_total", "limit" => bucket.to_owned()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("l.db").display());
        (dir, oneauth_store::open(&url).await.unwrap())
    }

    /// In-memory limits over `store` (where identities are looked up).
    fn limits_on(store: Arc<dyn Store>, per_identifier: u32, per_ip: u32) -> Limits {
        let cfg = LimitsConfig {
            backend: LimitBackend::Memory,
            login_per_identifier_per_minute: per_identifier,
            login_per_ip_per_minute: per_ip,
            token_per_ip_per_minute: 0,
            token_per_client_per_minute: 0,
        };
        Limits::new(&cfg, store)
    }

    async fn limits(per_identifier: u32) -> (tempfile::TempDir, Limits) {
        let (dir, store) = store().await;
        (dir, limits_on(store, per_identifier, 0))
    }

    fn limited<T: std::fmt::Debug>(r: Result<T, Error>) -> u64 {
        match r {
            Err(Error::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected a rate limit, got {other:?}"),
        }
    }

    #[test]
    fn ipv6_counts_by_its_64_and_ipv4_by_address() {
        let k = |s: &str| ip_key(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(k("2001:db8:1:2:ffff:ab:cd:ef"), k("2001:db8:1:2::1"));
        assert_ne!(k("2001:db8:1:3::1"), k("2001:db8:1:2::1"));
        assert_eq!(k("198.51.100.7"), "198.51.100.7");
        assert_ne!(k("198.51.100.7"), k("198.51.100.8"));
        assert_eq!(k("::ffff:198.51.100.7"), "198.51.100.7", "mapped is IPv4");
    }

    #[test]
    fn identifiers_count_as_lookups_read_them() {
        let one = identifier_key("+8613800138000");
        for variant in [
            "+86 138 0013 8000",
            "+86-138-0013-8000",
            "0086 13800138000",
            " +86 (138) 0013.8000 ",
        ] {
            assert_eq!(identifier_key(variant), one, "{variant}");
        }
        assert_eq!(identifier_key(" Alice@Example.COM"), "alice@example.com");
        assert_eq!(identifier_key("Alice_1"), "alice_1");
        assert_eq!(identifier_key(" Not An Identifier "), "not an identifier");
    }

    #[tokio::test]
    async fn spellings_of_a_phone_and_an_accounts_identifiers_share_one_budget() {
        let (_dir, store) = store().await;
        let identity = oneauth_store::Identity {
            id: "id-1".into(),
            traits: oneauth_store::Traits {
                email: Some("a@example.com".into()),
                phone: Some("+8613800138000".into()),
                ..Default::default()
            },
            state: oneauth_store::IdentityState::Active,
            password_hash: None,
            created_at: 0,
            updated_at: 0,
        };
        store.insert_identity(&identity).await.unwrap();
        let l = limits_on(store, 3, 0);
        let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
        for who in ["+86 138 0013 8000", "0086-138-0013-8000"] {
            l.login_attempt(None, who, t).await.unwrap();
        }
        l.login_attempt(None, "A@example.com", t).await.unwrap();
        limited(l.login_attempt(None, "+86 13800138000", t).await);
        limited(l.login_attempt(None, "a@example.com", t).await);
        // A phone no account has: its spellings share a budget of their own.
        for _ in 0..3 {
            l.login_attempt(None, "+86 139 0000 0000", t).await.unwrap();
        }
        limited(l.login_attempt(None, "0086 13900000000", t).await);
    }

    #[tokio::test]
    async fn addresses_of_one_ipv6_64_share_a_budget() {
        let (_dir, store) = store().await;
        let l = limits_on(store, 0, 2);
        let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
        let ip = |s: &str| Some(s.parse().unwrap());
        l.login_attempt(ip("2001:db8::1"), "a@example.com", t)
            .await
            .unwrap();
        l.login_attempt(ip("2001:db8::ffff:2"), "b@example.com", t)
            .await
            .unwrap();
        limited(l.login_attempt(ip("2001:db8::3"), "c@example.com", t).await);
        l.login_attempt(ip("2001:db8:0:1::1"), "c@example.com", t)
            .await
            .expect("the next /64 is someone else");
    }

    #[test]
    fn sends_wait_for_the_cool_down_and_cap_per_hour() {
        let rule = SendRule {
            cooldown_secs: 60,
            per_hour: 3,
        };
        let c = rule.cool_down(None, 1000).unwrap();
        assert_eq!(limited(rule.cool_down(Some(&c), 1030)), 30);
        rule.cool_down(Some(&c), 1060).unwrap();
        let b = rule.spend(None, 1000).unwrap();
        let b = rule.spend(Some(&b), 1060).unwrap();
        let b = rule.spend(Some(&b), 1120).unwrap();
        assert_eq!(
            limited(rule.spend(Some(&b), 1180)),
            3600 - 180,
            "three in the hour from the first"
        );
        let b = rule.spend(Some(&b), 4600).unwrap();
        assert_eq!((b.count, b.window_start), (1, 4600), "a new hour");
    }

    #[test]
    fn guess_lock_outs_double_up_to_the_longest() {
        let rule = GuessRule {
            per_run: 2,
            base_secs: 60,
            max_secs: 200,
            memory_secs: 10_000,
        };
        let mut b = rule.charge(None, 0).unwrap();
        let mut t = 0;
        let mut locks = Vec::new();
        for _ in 0..7 {
            b = rule.charge(Some(&b), t).unwrap();
            locks.push(b.locked_until - t);
            // Locked, even for the right code, until the lock-out ends.
            assert_eq!(
                limited(rule.charge(Some(&b), t)),
                (b.locked_until - t) as u64
            );
            assert_eq!(limited(rule.charge(Some(&b), b.locked_until - 1)), 1);
            t = b.locked_until;
            b = rule.charge(Some(&b), t).unwrap();
        }
        assert_eq!(locks, [60, 120, 200, 200, 200, 200, 200]);
        // Remembered from the first guess for `memory_secs`, then forgotten.
        let fresh = rule.charge(Some(&b), 10_000).unwrap();
        assert_eq!((fresh.count, fresh.locked_until), (1, 0));
    }

    #[test]
    fn a_right_guess_is_refunded_alone() {
        let rule = GuessRule {
            per_run: 3,
            base_secs: 60,
            max_secs: 3600,
            memory_secs: 86_400,
        };
        let one = rule.charge(None, 0).unwrap();
        let two = rule.charge(Some(&one), 1).unwrap();
        let three = rule.charge(Some(&two), 2).unwrap();
        assert_eq!(three.locked_until, 62);
        // The third was right: its charge and the lock-out it set go; the
        // two wrong ones stay, so the next wrong guess locks out again.
        let refunded = rule.refund(Some(&three), &three);
        assert_eq!((refunded.count, refunded.locked_until), (2, 0));
        let again = rule.charge(Some(&refunded), 3).unwrap();
        assert_eq!(again.locked_until, 63);
        // A refund after the memory moved on takes nothing back.
        let later = rule.charge(Some(&again), 90_000).unwrap();
        assert_eq!(rule.refund(Some(&later), &three), later);
    }

    /// The figure in [`GuessRule`]'s documentation, and the bound it keeps:
    /// a month of guessing at one address stays below a 0.1 % chance of
    /// hitting a six-digit code.
    #[test]
    fn a_month_of_guessing_stays_below_one_in_a_thousand() {
        let rule = GuessRule::from_config(&CodesConfig::default());
        assert_eq!(rule.max_guesses(34 * 3600), 55);
        let month = rule.max_guesses(30 * 86_400);
        assert_eq!(month, 385);
        assert!((month as f64) * 1e-6 < 1e-3);
        // Without the lock-outs' growth it would not hold.
        let flat = GuessRule {
            max_secs: rule.base_secs,
            ..rule
        };
        assert!(flat.max_guesses(30 * 86_400) > 1000);
    }

    #[tokio::test]
    async fn budgets_in_memory_are_a_compare_and_swap() {
        let (_dir, l) = limits(0).await;
        let spend = |rule: SendRule, now| {
            let l = &l;
            async move {
                l.spend("b", "s", |b| Ok((rule.cool_down(b, now)?, ())))
                    .await
            }
        };
        let rule = SendRule {
            cooldown_secs: 10,
            per_hour: 0,
        };
        spend(rule, 0).await.unwrap();
        assert_eq!(limited(spend(rule, 5).await), 5);
        spend(rule, 10).await.unwrap();
        l.forget_before(OffsetDateTime::from_unix_timestamp(10_000).unwrap());
        spend(rule, 10_001).await.unwrap();
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
        let (_dir, l) = limits(2).await;
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
