//! Login sessions on SQLite.

use super::*;

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_SESSION,
                &[
                    &s.id,
                    &s.token_hash,
                    &s.identity_id,
                    &s.authenticated_at,
                    &join(&s.amr),
                    &s.expires_at,
                    &s.seen_from.user_agent,
                    &s.seen_from.ip,
                    &s.last_used_at,
                    &i64::from(s.second_factor_pending),
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
                &[&token_hash, &now],
                |r| session_from(r),
            )
        })
    }

    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            Ok(exec(
                c,
                "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )? == 1)
        })
        .await
    }

    async fn touch_session(&self, id: &str, now: i64) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            exec(c, sql::TOUCH_SESSION, &[&id, &now, &SESSION_TOUCH_SECS])?;
            Ok(())
        })
        .await
    }

    async fn list_sessions(&self, identity_id: &str, now: i64) -> StoreResult<Vec<Session>> {
        let identity_id = identity_id.to_owned();
        self.scan(move |c| {
            all(
                c,
                "SELECT * FROM sessions WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2
                 ORDER BY authenticated_at DESC, id",
                &[&identity_id, &now],
                |r| session_from(r),
            )
        })
        .await
    }

    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let identity_id = identity_id.to_owned();
        let keep = keep.map(str::to_owned);
        self.write(move |c| exec(c, sql::REVOKE_OTHER_SESSIONS, &[&identity_id, &now, &keep]))
            .await
    }
}
