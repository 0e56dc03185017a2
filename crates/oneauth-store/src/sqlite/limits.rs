//! Rate-limit counters and budgets on SQLite.

use super::*;

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        count: i64,
    ) -> StoreResult<i64> {
        let key = key.to_owned();
        self.write(move |c| {
            one(
                c,
                sql::RATE_LIMIT_HIT,
                &[&key, &window_start, &expires_at, &count],
                |r| Ok(r.raw().get::<_, i64>(0)?),
            )?
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("the upsert returned no row")))
        })
        .await
    }

    async fn get_budget(&self, key: &str) -> StoreResult<Option<(Budget, i64)>> {
        self.read(|c| one(c, sql::GET_BUDGET, &[&key], |r| budget_from(r)))
    }

    async fn put_budget(
        &self,
        key: &str,
        budget: &Budget,
        version: Option<i64>,
    ) -> StoreResult<bool> {
        let (key, b) = (key.to_owned(), *budget);
        self.write(move |c| {
            let params: [&dyn ToSql; 7] = [
                &key,
                &version,
                &b.count,
                &b.window_start,
                &b.last_at,
                &b.locked_until,
                &b.expires_at,
            ];
            let sql = match version {
                None => sql::INSERT_BUDGET,
                Some(_) => sql::UPDATE_BUDGET,
            };
            Ok(exec(c, sql, &params)? == 1)
        })
        .await
    }
}
