//! The courier's outbox on PostgreSQL.

use super::PostgresStore;
use crate::rows::*;
use crate::*;

#[async_trait]
impl CourierStore for PostgresStore {
    async fn insert_message(&self, m: &CourierMessage) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO courier_messages (id, channel, recipient, template, sealed, status, attempts,
                                           next_attempt_at, created_at, last_error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&m.id)
        .bind(m.channel.as_str())
        .bind(&m.recipient)
        .bind(&m.template)
        .bind(&m.sealed)
        .bind(m.status.as_str())
        .bind(m.attempts)
        .bind(m.next_attempt_at)
        .bind(m.created_at)
        .bind(&m.last_error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<CourierMessage>> {
        // SKIP LOCKED: two nodes claiming at once take different rows; the
        // outer WHERE re-checks a row another node leased in between.
        let rows = sqlx::query(
            "UPDATE courier_messages SET attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT id FROM courier_messages
                          WHERE status = 'queued' AND next_attempt_at <= $1
                          ORDER BY next_attempt_at, created_at LIMIT $3
                          FOR UPDATE SKIP LOCKED)
               AND status = 'queued' AND next_attempt_at <= $1
             RETURNING *",
        )
        .bind(now)
        .bind(lease_until)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from).collect()
    }

    async fn mark_message_sent(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE courier_messages SET status = 'sent', last_error = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_message_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE courier_messages
             SET last_error = $2,
                 status = CASE WHEN $3::BIGINT IS NULL THEN 'abandoned' ELSE 'queued' END,
                 next_attempt_at = COALESCE($3::BIGINT, next_attempt_at)
             WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_message(&self, id: &str) -> StoreResult<Option<CourierMessage>> {
        sqlx::query("SELECT * FROM courier_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(message_from)
            .transpose()
    }
}
