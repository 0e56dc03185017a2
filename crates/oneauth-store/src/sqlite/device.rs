//! Device authorizations (RFC 8628) on SQLite.

use super::tokens::insert_tokens_in;
use super::*;
use crate::device::{self as sql, device_code_from};

#[async_trait]
impl DeviceCodeStore for SqliteStore {
    async fn insert_device_code(&self, d: &DeviceCode) -> StoreResult<()> {
        let d = d.clone();
        self.write(move |c| {
            exec(
                c,
                sql::INSERT,
                &[
                    &d.id,
                    &d.device_code_hash,
                    &d.user_code_hash,
                    &d.client_id,
                    &join(&d.scope),
                    &d.state.as_str(),
                    &d.subject,
                    &d.session_id,
                    &join(&d.granted_scope),
                    &join(&d.amr),
                    &d.auth_time,
                    &d.interval_secs,
                    &d.last_polled_at,
                    &d.created_at,
                    &d.expires_at,
                    &d.version,
                ],
            )?;
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
            let n = exec(
                c,
                sql::UPDATE,
                &[
                    &d.id,
                    &d.version,
                    &d.state.as_str(),
                    &d.subject,
                    &d.session_id,
                    &join(&d.granted_scope),
                    &join(&d.amr),
                    &d.auth_time,
                    &d.interval_secs,
                    &d.last_polled_at,
                ],
            )?;
            if n == 1 {
                insert_tokens_in(c, &tokens)?;
            }
            Ok(n == 1)
        })
        .await
    }
}
