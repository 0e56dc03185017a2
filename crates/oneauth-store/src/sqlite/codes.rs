//! One-time codes on SQLite.

use super::SqliteStore;
use crate::*;
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

fn purpose_from(s: &str) -> StoreResult<CodePurpose> {
    [
        CodePurpose::Login,
        CodePurpose::Verification,
        CodePurpose::Recovery,
    ]
    .into_iter()
    .find(|p| p.as_str() == s)
    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown code purpose {s}")))
}

fn code_from(r: &SqliteRow) -> StoreResult<OneTimeCode> {
    Ok(OneTimeCode {
        id: r.try_get("id")?,
        purpose: purpose_from(r.try_get("purpose")?)?,
        address: r.try_get("address")?,
        identity_id: r.try_get("identity_id")?,
        code_hash: r.try_get("code_hash")?,
        attempts: r.try_get("attempts")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

#[async_trait]
impl OneTimeCodeStore for SqliteStore {
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

    async fn one_time_codes_sent(
        &self,
        purpose: CodePurpose,
        address: &str,
        since: i64,
    ) -> StoreResult<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) FILTER (WHERE created_at >= $3) AS n, MAX(created_at) AS at
             FROM one_time_codes WHERE purpose = $1 AND address = $2",
        )
        .bind(purpose.as_str())
        .bind(address)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("at")?))
    }

    async fn spend_one_time_code_attempt(
        &self,
        purpose: CodePurpose,
        address: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<Option<OneTimeCode>> {
        // One statement: the increment and the limit check cannot be
        // separated by a concurrent guess.
        let row = sqlx::query(
            "UPDATE one_time_codes SET attempts = attempts + 1
             WHERE id = (SELECT id FROM one_time_codes
                         WHERE purpose = $1 AND address = $2 AND used_at IS NULL
                         ORDER BY created_at DESC, rowid DESC LIMIT 1)
               AND used_at IS NULL AND expires_at > $4 AND attempts < $3
             RETURNING *",
        )
        .bind(purpose.as_str())
        .bind(address)
        .bind(max_attempts)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(code_from).transpose()
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
