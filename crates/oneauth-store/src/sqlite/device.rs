//! Device authorizations (RFC 8628) on SQLite.

use super::tokens::insert_tokens_in;
use super::*;
use crate::device::{self as sql, device_code_from};

#[async_trait]
impl DeviceCodeStore for SqliteStore {
    async fn insert_device_code(&self, d: &DeviceCode) -> StoreResult<()> {
        let d = d.clone();
        self.write(move |c| {
            let scope = join(&d.scope);
            let first: [&dyn ToSql; 8] = [
                &d.id,
                &d.device_code_hash,
                &d.user_code_hash,
                &d.client_id,
                &scope,
                &d.created_at,
                &d.expires_at,
                &d.version,
            ];
            exec_with_changes(c, sql::INSERT, &first, &d)?;
            Ok(())
        })
        .await
    }

    async fn get_device_code(&self, device_code_hash: &str) -> StoreResult<Option<DeviceCode>> {
        self.read(|c| {
            one(c, sql::BY_DEVICE_CODE, &[&device_code_hash], |r| {
                device_code_from(r)
            })
        })
    }

    async fn get_device_code_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> StoreResult<Option<DeviceCode>> {
        self.read(|c| {
            one(c, sql::BY_USER_CODE, &[&user_code_hash], |r| {
                device_code_from(r)
            })
        })
    }

    async fn update_device_code(&self, d: &DeviceCode, tokens: &[Token]) -> StoreResult<bool> {
        let (d, tokens) = (d.clone(), tokens.to_vec());
        // One write on the single writer: the swap and the tokens commit
        // together or not at all.
        self.write(move |c| {
            let n = exec_with_changes(c, sql::UPDATE, &[&d.id, &d.version], &d)?;
            if n == 1 {
                insert_tokens_in(c, &tokens)?;
            }
            Ok(n == 1)
        })
        .await
    }
}

/// Runs `sql` with `first`, then the columns an answer or a poll changes,
/// which both writes bind last (see `crate::device::INSERT`).
fn exec_with_changes(
    c: &Connection,
    sql: &str,
    first: &[&dyn ToSql],
    d: &DeviceCode,
) -> StoreResult<u64> {
    let (granted_scope, amr) = (join(&d.granted_scope), join(&d.amr));
    let changes: [&dyn ToSql; 8] = [
        &d.state.as_str(),
        &d.subject,
        &d.session_id,
        &granted_scope,
        &amr,
        &d.auth_time,
        &d.interval_secs,
        &d.last_polled_at,
    ];
    let params: Vec<&dyn ToSql> = first.iter().copied().chain(changes).collect();
    exec(c, sql, &params)
}
