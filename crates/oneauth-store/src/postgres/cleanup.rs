//! Deleting what has expired, on PostgreSQL, in short batches.

use super::*;

#[async_trait]
impl Cleanup for PostgresStore {
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        // Batches keep each write transaction short. SKIP LOCKED: rows a
        // request (or another node's cleaner) holds are left for the next
        // run, so the cleaner never waits on, or deadlocks with, anyone.
        const SQL: [&str; 10] = [
            "DELETE FROM tokens WHERE hash IN
             (SELECT hash FROM tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM authorization_codes WHERE hash IN
             (SELECT hash FROM authorization_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM flows WHERE id IN
             (SELECT id FROM flows WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM sessions WHERE id IN
             (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM rate_limits WHERE key IN
             (SELECT key FROM rate_limits WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM budgets WHERE key IN
             (SELECT key FROM budgets WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM one_time_codes WHERE id IN
             (SELECT id FROM one_time_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM device_codes WHERE id IN
             (SELECT id FROM device_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM webauthn_ceremonies WHERE id IN
             (SELECT id FROM webauthn_ceremonies WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            // Sent and abandoned messages are kept a week for the operator.
            "DELETE FROM courier_messages WHERE id IN
             (SELECT id FROM courier_messages WHERE status <> 'queued' AND created_at < $1 - 604800
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
        ];
        for sql in SQL {
            loop {
                let n = sqlx::query(sql)
                    .bind(now)
                    .bind(batch)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                deleted += n;
                if n < batch as u64 {
                    break;
                }
            }
        }
        sqlx::query(
            "UPDATE tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < $1",
        )
        .bind(sealed_before)
        .execute(&self.pool)
        .await?;
        Ok(deleted)
    }
}
