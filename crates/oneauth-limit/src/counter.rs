//! Counters of hits per key and one-minute window: in this node's memory,
//! in the shared database (one write per hit), or buffered in memory and
//! added up in the database every [`FLUSH`].

use async_trait::async_trait;
use oneauth_core::Error;
use oneauth_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(super) const WINDOW_SECS: i64 = 60;

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
