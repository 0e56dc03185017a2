//! What both stores share for device authorizations (RFC 8628): the SQL
//! and the row mapping. The statements are in `sqlite/device.rs` and
//! `postgres/device.rs`.

use crate::common::*;
use crate::rows::Columns;
use crate::*;

/// The columns an answer or a poll changes come last in both writes, in
/// this order: state, subject, session_id, granted_scope, amr, auth_time,
/// interval_secs, last_polled_at.
pub(crate) const INSERT: &str =
    "INSERT INTO device_codes (id, device_code_hash, user_code_hash, client_id, scope,
     created_at, expires_at, version,
     state, subject, session_id, granted_scope, amr, auth_time, interval_secs, last_polled_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

pub(crate) const BY_DEVICE_CODE: &str = "SELECT * FROM device_codes WHERE device_code_hash = $1";

pub(crate) const BY_USER_CODE: &str = "SELECT * FROM device_codes WHERE user_code_hash = $1";

/// The compare-and-swap: written only if nobody wrote since `version` ($2)
/// was read.
pub(crate) const UPDATE: &str = "UPDATE device_codes SET state = $3, subject = $4, session_id = $5,
     granted_scope = $6, amr = $7, auth_time = $8, interval_secs = $9, last_polled_at = $10,
     version = version + 1
     WHERE id = $1 AND version = $2";

pub(crate) fn device_code_from(r: &impl Columns) -> StoreResult<DeviceCode> {
    let state: String = r.col("state")?;
    Ok(DeviceCode {
        id: r.col("id")?,
        device_code_hash: r.col("device_code_hash")?,
        user_code_hash: r.col("user_code_hash")?,
        client_id: r.col("client_id")?,
        scope: split(&r.col::<String>("scope")?),
        state: DeviceCodeState::ALL
            .into_iter()
            .find(|s| s.as_str() == state)
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown device state {state}")))?,
        subject: r.col("subject")?,
        session_id: r.col("session_id")?,
        granted_scope: split(&r.col::<String>("granted_scope")?),
        amr: split(&r.col::<String>("amr")?),
        auth_time: r.col("auth_time")?,
        interval_secs: r.col("interval_secs")?,
        last_polled_at: r.col("last_polled_at")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
        version: r.col("version")?,
    })
}
