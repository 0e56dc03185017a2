//! Mini-program storage on PostgreSQL; the SQL is shared with SQLite.

use super::PostgresStore;
use crate::miniprogram::sql;
use crate::rows::Columns as _;
use crate::*;

#[async_trait]
impl MiniProgramStore for PostgresStore {
    async fn get_platform_token(&self, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query(sql::GET_PLATFORM_TOKEN)
            .bind(key)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.col("sealed"))
            .transpose()
    }

    async fn put_platform_token(
        &self,
        key: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(sql::PUT_PLATFORM_TOKEN)
            .bind(key)
            .bind(sealed)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn merge_identity(&self, from: &str, into: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // The identity row is locked first, as delete_identity and
        // set_identity_state do, so none of them can deadlock with another.
        let found = sqlx::query("SELECT 1 FROM identities WHERE id = $1 FOR UPDATE")
            .bind(from)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !found {
            return Ok(false);
        }
        sqlx::query(sql::MOVE_EXTERNAL_IDENTITIES)
            .bind(from)
            .bind(into)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM identities WHERE id = $1")
            .bind(from)
            .execute(&mut *tx)
            .await?;
        // Tokens carry no foreign key; they go explicitly.
        sqlx::query("DELETE FROM tokens WHERE subject = $1")
            .bind(from)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
