//! Rate-limit counters and budgets on PostgreSQL.

use super::*;

#[async_trait]
impl RateLimitStore for PostgresStore {
    async fn hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        count: i64,
    ) -> StoreResult<i64> {
        // One upsert: PostgreSQL guarantees ON CONFLICT DO UPDATE either
        // inserts or updates, even when nodes hit the same key at once, so
        // no hit is lost and none fails on the primary key.
        let row = sqlx::query(sql::RATE_LIMIT_HIT)
            .bind(key)
            .bind(window_start)
            .bind(expires_at)
            .bind(count)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("hits")?)
    }

    async fn get_budget(&self, key: &str) -> StoreResult<Option<(Budget, i64)>> {
        let row = sqlx::query(sql::GET_BUDGET)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(budget_from).transpose()
    }

    async fn put_budget(
        &self,
        key: &str,
        budget: &Budget,
        version: Option<i64>,
    ) -> StoreResult<bool> {
        let sql = match version {
            None => sql::INSERT_BUDGET,
            Some(_) => sql::UPDATE_BUDGET,
        };
        let done = sqlx::query(sql)
            .bind(key)
            .bind(version)
            .bind(budget.count)
            .bind(budget.window_start)
            .bind(budget.last_at)
            .bind(budget.locked_until)
            .bind(budget.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
