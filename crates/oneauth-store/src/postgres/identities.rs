//! Identities on PostgreSQL; disabling one revokes its tokens and sessions
//! in the same transaction.

use super::*;

#[async_trait]
impl IdentityStore for PostgresStore {
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()> {
        sqlx::query(sql::INSERT_IDENTITY)
            .bind(&identity.id)
            .bind(&identity.traits.email)
            .bind(&identity.traits.phone)
            .bind(&identity.traits.username)
            .bind(serde_json::to_string(&identity.traits)?)
            .bind(identity.state.as_str())
            .bind(&identity.password_hash)
            .bind(identity.created_at)
            .bind(identity.updated_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        sqlx::query(sql::GET_IDENTITY)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn update_identity(&self, identity: &Identity) -> StoreResult<bool> {
        let n = sqlx::query(sql::UPDATE_IDENTITY)
            .bind(&identity.id)
            .bind(&identity.traits.email)
            .bind(&identity.traits.phone)
            .bind(&identity.traits.username)
            .bind(serde_json::to_string(&identity.traits)?)
            .bind(&identity.password_hash)
            .bind(identity.updated_at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn list_identities(&self) -> StoreResult<Vec<Identity>> {
        let rows = sqlx::query("SELECT * FROM identities ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(identity_from).collect()
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // The identity row goes first: like set_identity_state, this locks
        // the identity before its tokens and sessions, so the two cannot
        // deadlock when they run at once.
        let n = sqlx::query("DELETE FROM identities WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Tokens carry no foreign key (client_credentials tokens have no
        // subject), so they go explicitly, in the same transaction.
        sqlx::query("DELETE FROM tokens WHERE subject = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn set_identity_state(
        &self,
        id: &str,
        state: IdentityState,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE identities SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 && state == IdentityState::Disabled {
            revoke_access(&mut tx, id, None, now).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn revoke_identity_access(
        &self,
        id: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let ended = revoke_access(&mut tx, id, keep_session, now).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

/// [`IdentityStore::revoke_identity_access`] inside the caller's transaction.
async fn revoke_access(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: &str,
    keep: Option<&str>,
    now: i64,
) -> StoreResult<u64> {
    sqlx::query(sql::REVOKE_SUBJECT_TOKENS)
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query(sql::REVOKE_OTHER_SESSIONS)
        .bind(id)
        .bind(now)
        .bind(keep)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}
