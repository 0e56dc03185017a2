//! The courier's outbox on SQLite.

use super::{SqliteStore, all, exec, one};
use crate::rows::*;
use crate::*;

#[async_trait]
impl CourierStore for SqliteStore {
    async fn insert_message(&self, m: &CourierMessage) -> StoreResult<()> {
        let m = m.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO courier_messages (id, channel, recipient, template, sealed, status, attempts,
                                               next_attempt_at, created_at, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &m.id,
                    &m.channel.as_str(),
                    &m.recipient,
                    &m.template,
                    &m.sealed,
                    &m.status.as_str(),
                    &m.attempts,
                    &m.next_attempt_at,
                    &m.created_at,
                    &m.last_error,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn claim_messages(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<CourierMessage>> {
        self.write(move |c| {
            // One writer at a time, so the select-and-update is atomic.
            all(
                c,
                "UPDATE courier_messages SET attempts = attempts + 1, next_attempt_at = $2
                 WHERE id IN (SELECT id FROM courier_messages
                              WHERE status = 'queued' AND next_attempt_at <= $1
                              ORDER BY next_attempt_at, created_at LIMIT $3)
                 RETURNING *",
                &[&now, &lease_until, &limit],
                |r| message_from(r),
            )
        })
        .await
    }

    async fn mark_message_sent(&self, id: &str) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            exec(
                c,
                "UPDATE courier_messages SET status = 'sent', last_error = NULL WHERE id = $1",
                &[&id],
            )?;
            Ok(())
        })
        .await
    }

    async fn mark_message_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |c| {
            exec(
                c,
                "UPDATE courier_messages
                 SET last_error = $2,
                     status = CASE WHEN $3 IS NULL THEN 'abandoned' ELSE 'queued' END,
                     next_attempt_at = COALESCE($3, next_attempt_at)
                 WHERE id = $1",
                &[&id, &error, &retry_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_message(&self, id: &str) -> StoreResult<Option<CourierMessage>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM courier_messages WHERE id = $1",
                &[&id],
                |r| message_from(r),
            )
        })
    }
}
