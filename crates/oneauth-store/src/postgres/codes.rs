//! One-time codes on PostgreSQL.

use super::PostgresStore;
use crate::rows::*;
use crate::*;

#[async_trait]
impl OneTimeCodeStore for PostgresStore {
    async fn insert_one_time_code(&self, c: &OneTimeCode) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Earlier codes stop working the moment a new one is sent: only the
        // code in the newest message is valid.
        sqlx::query(
            "UPDATE one_time_codes SET used_at = $3
             WHERE purpose = $1 AND address = $2 AND used_at IS NULL",
        )
        .bind(c.purpose.as_str())
        .bind(&c.address)
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO one_time_codes (id, purpose, address, identity_id, code_hash, attempts, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&c.id)
        .bind(c.purpose.as_str())
        .bind(&c.address)
        .bind(&c.identity_id)
        .bind(&c.code_hash)
        .bind(c.attempts)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn spend_one_time_code_attempt(
        &self,
        purpose: CodePurpose,
        address: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<Option<OneTimeCode>> {
        // One statement: a concurrent guess blocks on the row lock, then
        // the WHERE clause is re-checked against its committed attempts.
        let row = sqlx::query(
            "UPDATE one_time_codes SET attempts = attempts + 1
             WHERE id = (SELECT id FROM one_time_codes
                         WHERE purpose = $1 AND address = $2 AND used_at IS NULL
                         ORDER BY created_at DESC, id DESC LIMIT 1)
               AND used_at IS NULL AND expires_at > $4 AND attempts < $3
             RETURNING *",
        )
        .bind(purpose.as_str())
        .bind(address)
        .bind(max_attempts)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(one_time_code_from).transpose()
    }

    async fn take_one_time_code(&self, id: &str, now: i64) -> StoreResult<bool> {
        let n =
            sqlx::query("UPDATE one_time_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }
}
