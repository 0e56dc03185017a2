//! Login sessions on PostgreSQL.

use super::*;

#[async_trait]
impl SessionStore for PostgresStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(sql::INSERT_SESSION)
            .bind(&s.id)
            .bind(&s.token_hash)
            .bind(&s.identity_id)
            .bind(s.authenticated_at)
            .bind(join(&s.amr))
            .bind(s.expires_at)
            .bind(&s.seen_from.user_agent)
            .bind(&s.seen_from.ip)
            .bind(s.last_used_at)
            .bind(i64::from(s.second_factor_pending))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from).transpose()
    }

    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_session(&self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query(sql::TOUCH_SESSION)
            .bind(id)
            .bind(now)
            .bind(SESSION_TOUCH_SECS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_sessions(&self, identity_id: &str, now: i64) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY authenticated_at DESC, id",
        )
        .bind(identity_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_from).collect()
    }

    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(sqlx::query(sql::REVOKE_OTHER_SESSIONS)
            .bind(identity_id)
            .bind(now)
            .bind(keep)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
