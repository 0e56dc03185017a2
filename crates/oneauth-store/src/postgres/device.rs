//! Device authorizations (RFC 8628) on PostgreSQL.

use super::*;
use crate::device::{self as sql, device_code_from};

#[async_trait]
impl DeviceCodeStore for PostgresStore {
    async fn insert_device_code(&self, d: &DeviceCode) -> StoreResult<()> {
        let insert = sqlx::query(sql::INSERT)
            .bind(&d.id)
            .bind(&d.device_code_hash)
            .bind(&d.user_code_hash)
            .bind(&d.client_id)
            .bind(join(&d.scope))
            .bind(d.created_at)
            .bind(d.expires_at)
            .bind(d.version);
        bind_changes(insert, d).execute(&self.pool).await?;
        Ok(())
    }

    async fn get_device_code(&self, device_code_hash: &str) -> StoreResult<Option<DeviceCode>> {
        sqlx::query(sql::BY_DEVICE_CODE)
            .bind(device_code_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(device_code_from)
            .transpose()
    }

    async fn get_device_code_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> StoreResult<Option<DeviceCode>> {
        sqlx::query(sql::BY_USER_CODE)
            .bind(user_code_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(device_code_from)
            .transpose()
    }

    async fn update_device_code(&self, d: &DeviceCode, tokens: &[Token]) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Tokens for a user: first the identity lock a revocation takes
        // exclusively (see `rotate_refresh`), so disabling the user while
        // this commits revokes these tokens too.
        if let (Some(subject), false) = (&d.subject, tokens.is_empty()) {
            sqlx::query("SELECT 1 FROM identities WHERE id = $1 FOR SHARE")
                .bind(subject)
                .execute(&mut *tx)
                .await?;
        }
        // The conditional UPDATE locks the row: a concurrent writer waits,
        // then finds the version moved on and changes nothing.
        let update = sqlx::query(sql::UPDATE).bind(&d.id).bind(d.version);
        let n = bind_changes(update, d)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            Self::insert_tokens_in(&mut tx, tokens).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}

/// Binds the columns an answer or a poll changes, which both writes bind
/// last (see `crate::device::INSERT`).
fn bind_changes<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    d: &'q DeviceCode,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(d.state.as_str())
        .bind(&d.subject)
        .bind(&d.session_id)
        .bind(join(&d.granted_scope))
        .bind(join(&d.amr))
        .bind(d.auth_time)
        .bind(d.interval_secs)
        .bind(d.last_polled_at)
}
