//! One-time codes on SQLite.

use super::{SqliteStore, exec, one};
use crate::rows::*;
use crate::*;

#[async_trait]
impl OneTimeCodeStore for SqliteStore {
    async fn insert_one_time_code(&self, c: &OneTimeCode) -> StoreResult<()> {
        let code = c.clone();
        self.write(move |c| {
            // Earlier codes stop working the moment a new one is sent: only
            // the code in the newest message is valid.
            exec(
                c,
                "UPDATE one_time_codes SET used_at = $3
                 WHERE purpose = $1 AND address = $2 AND used_at IS NULL",
                &[&code.purpose.as_str(), &code.address, &code.created_at],
            )?;
            exec(
                c,
                "INSERT INTO one_time_codes (id, purpose, address, identity_id, code_hash, attempts, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &code.id,
                    &code.purpose.as_str(),
                    &code.address,
                    &code.identity_id,
                    &code.code_hash,
                    &code.attempts,
                    &code.created_at,
                    &code.expires_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn spend_one_time_code_attempt(
        &self,
        purpose: CodePurpose,
        address: &str,
        max_attempts: i64,
        now: i64,
    ) -> StoreResult<Option<OneTimeCode>> {
        let address = address.to_owned();
        self.write(move |c| {
            // One statement: the increment and the limit check cannot be
            // separated by a concurrent guess.
            one(
                c,
                "UPDATE one_time_codes SET attempts = attempts + 1
                 WHERE id = (SELECT id FROM one_time_codes
                             WHERE purpose = $1 AND address = $2 AND used_at IS NULL
                             ORDER BY created_at DESC, rowid DESC LIMIT 1)
                   AND used_at IS NULL AND expires_at > $4 AND attempts < $3
                 RETURNING *",
                &[&purpose.as_str(), &address, &max_attempts, &now],
                |r| one_time_code_from(r),
            )
        })
        .await
    }

    async fn take_one_time_code(&self, id: &str, now: i64) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            Ok(exec(
                c,
                "UPDATE one_time_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                &[&id, &now],
            )? == 1)
        })
        .await
    }
}
