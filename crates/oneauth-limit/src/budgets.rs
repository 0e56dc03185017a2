//! Where budgets live (memory or the shared database), written by
//! compare-and-swap.

use async_trait::async_trait;
use oneauth_core::Error;
use oneauth_store::{Budget, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where budgets live; `put` is a compare-and-swap on the version `get`
/// returned (`None`: no budget yet).
#[async_trait]
pub(super) trait Budgets: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<(Budget, i64)>, Error>;
    async fn put(&self, key: &str, budget: &Budget, version: Option<i64>) -> Result<bool, Error>;
    fn forget_before(&self, now: i64);
}

/// This node's memory.
#[derive(Default)]
pub(super) struct MemoryBudgets(Mutex<HashMap<String, (Budget, i64)>>);

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
pub(super) struct StoreBudgets(pub(super) Arc<dyn Store>);

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
