//! Deleting what has expired, on SQLite, in short batches.

use super::*;

#[async_trait]
impl Cleanup for SqliteStore {
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        // Batches keep each write short, so logins and token requests never
        // wait long behind the cleaner; each batch is a write of its own.
        const SQL: [&str; 10] = [
            "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM flows WHERE rowid IN (SELECT rowid FROM flows WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM budgets WHERE rowid IN (SELECT rowid FROM budgets WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM one_time_codes WHERE rowid IN (SELECT rowid FROM one_time_codes WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM webauthn_ceremonies WHERE rowid IN (SELECT rowid FROM webauthn_ceremonies WHERE expires_at < $1 LIMIT $2)",
            // Sent and abandoned messages are kept a week for the operator.
            "DELETE FROM courier_messages WHERE rowid IN (SELECT rowid FROM courier_messages
               WHERE status <> 'queued' AND created_at < $1 - 604800 LIMIT $2)",
        ];
        for sql in SQL {
            loop {
                let n = self.write(move |c| exec(c, sql, &[&now, &batch])).await?;
                deleted += n;
                if n < batch as u64 {
                    break;
                }
            }
        }
        self.write(move |c| {
            exec(
                c,
                "UPDATE tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < $1",
                &[&sealed_before],
            )
        })
        .await?;
        Ok(deleted)
    }
}
