//! TOTP secrets and recovery codes on SQLite; the SQL is shared with
//! PostgreSQL.

use super::{SqliteStore, exec, one};
use crate::rows::Columns as _;
use crate::totp::{sql, totp_from};
use crate::*;

#[async_trait]
impl TotpStore for SqliteStore {
    async fn put_totp_enrolment(&self, s: &TotpSecret) -> StoreResult<bool> {
        let s = s.clone();
        self.write(move |c| {
            let params: [&dyn rusqlite::ToSql; 5] = [
                &s.identity_id,
                &s.id,
                &s.sealed,
                &s.last_step,
                &s.created_at,
            ];
            Ok(exec(c, sql::PUT_TOTP, &params)? == 1)
        })
        .await
    }

    async fn get_totp(&self, identity_id: &str) -> StoreResult<Option<TotpSecret>> {
        self.read(|c| one(c, sql::GET_TOTP, &[&identity_id], |r| totp_from(r)))
    }

    async fn accept_totp_step(
        &self,
        identity_id: &str,
        id: &str,
        step: i64,
        confirming: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let (identity_id, id) = (identity_id.to_owned(), id.to_owned());
        self.write(move |c| {
            let params: [&dyn rusqlite::ToSql; 5] = [&identity_id, &id, &step, &confirming, &now];
            Ok(exec(c, sql::ACCEPT_STEP, &params)? == 1)
        })
        .await
    }

    async fn delete_totp(&self, identity_id: &str) -> StoreResult<bool> {
        let identity_id = identity_id.to_owned();
        self.write(move |c| Ok(exec(c, sql::DELETE_TOTP, &[&identity_id])? == 1))
            .await
    }

    async fn replace_recovery_codes(
        &self,
        identity_id: &str,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let (identity_id, hashes) = (identity_id.to_owned(), hashes.to_vec());
        // A write runs in a savepoint of its own: the old set goes and the
        // new one comes together or not at all.
        self.write(move |c| {
            exec(c, sql::DELETE_RECOVERY, &[&identity_id])?;
            for h in &hashes {
                exec(c, sql::INSERT_RECOVERY, &[&identity_id, h, &now])?;
            }
            Ok(())
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        identity_id: &str,
        hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (identity_id, hash) = (identity_id.to_owned(), hash.to_owned());
        self.write(move |c| Ok(exec(c, sql::USE_RECOVERY, &[&identity_id, &hash, &now])? == 1))
            .await
    }

    async fn recovery_codes_left(&self, identity_id: &str) -> StoreResult<i64> {
        self.read(|c| one(c, sql::COUNT_RECOVERY, &[&identity_id], |r| r.col("n")))
            .map(Option::unwrap_or_default)
    }
}
