//! TOTP secrets and recovery codes on PostgreSQL; the SQL is shared with
//! SQLite.

use super::PostgresStore;
use crate::rows::Columns as _;
use crate::totp::{sql, totp_from};
use crate::*;

#[async_trait]
impl TotpStore for PostgresStore {
    async fn put_totp_enrolment(&self, s: &TotpSecret) -> StoreResult<bool> {
        let n = sqlx::query(sql::PUT_TOTP)
            .bind(&s.identity_id)
            .bind(&s.id)
            .bind(&s.sealed)
            .bind(s.last_step)
            .bind(s.created_at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn get_totp(&self, identity_id: &str) -> StoreResult<Option<TotpSecret>> {
        sqlx::query(sql::GET_TOTP)
            .bind(identity_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| totp_from(&r))
            .transpose()
    }

    async fn accept_totp_step(
        &self,
        identity_id: &str,
        id: &str,
        step: i64,
        confirming: bool,
        now: i64,
    ) -> StoreResult<bool> {
        // One conditional UPDATE: a concurrent one blocks on the row lock,
        // then finds last_step moved and matches nothing.
        let n = sqlx::query(sql::ACCEPT_STEP)
            .bind(identity_id)
            .bind(id)
            .bind(step)
            .bind(confirming)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn delete_totp(&self, identity_id: &str) -> StoreResult<bool> {
        let n = sqlx::query(sql::DELETE_TOTP)
            .bind(identity_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn replace_recovery_codes(
        &self,
        identity_id: &str,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::DELETE_RECOVERY)
            .bind(identity_id)
            .execute(&mut *tx)
            .await?;
        for h in hashes {
            sqlx::query(sql::INSERT_RECOVERY)
                .bind(identity_id)
                .bind(h)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        identity_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let n = sqlx::query(sql::USE_RECOVERY)
            .bind(identity_id)
            .bind(hash)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn recovery_codes_left(&self, identity_id: &str) -> StoreResult<i64> {
        sqlx::query(sql::COUNT_RECOVERY)
            .bind(identity_id)
            .fetch_one(&self.pool)
            .await?
            .col("n")
    }
}
