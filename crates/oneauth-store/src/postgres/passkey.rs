//! Passkeys and WebAuthn ceremonies on PostgreSQL; the SQL is shared with
//! SQLite.

use super::PostgresStore;
use crate::passkey::{ceremony_from, passkey_from, sql};
use crate::*;

#[async_trait]
impl PasskeyStore for PostgresStore {
    async fn insert_passkey(&self, p: &StoredPasskey) -> StoreResult<()> {
        sqlx::query(sql::INSERT)
            .bind(&p.id)
            .bind(&p.identity_id)
            .bind(&p.credential_id)
            .bind(&p.name)
            .bind(&p.passkey)
            .bind(p.created_at)
            .bind(p.last_used_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_passkeys(&self, identity_id: &str) -> StoreResult<Vec<StoredPasskey>> {
        sqlx::query(sql::LIST)
            .bind(identity_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(passkey_from)
            .collect()
    }

    async fn get_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>> {
        sqlx::query(sql::BY_CREDENTIAL)
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(passkey_from)
            .transpose()
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        // A conditional UPDATE: a concurrent one waits on the row lock,
        // then finds the JSON changed and matches nothing.
        let n = sqlx::query(sql::RECORD_USE)
            .bind(id)
            .bind(old)
            .bind(new)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn rename_passkey(&self, identity_id: &str, id: &str, name: &str) -> StoreResult<bool> {
        let n = sqlx::query(sql::RENAME)
            .bind(identity_id)
            .bind(id)
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn delete_passkey(&self, identity_id: &str, id: &str) -> StoreResult<bool> {
        let n = sqlx::query(sql::DELETE)
            .bind(identity_id)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn insert_ceremony(&self, w: &WebauthnCeremony) -> StoreResult<()> {
        sqlx::query(sql::INSERT_CEREMONY)
            .bind(&w.id)
            .bind(w.kind.as_str())
            .bind(&w.identity_id)
            .bind(&w.state)
            .bind(w.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_ceremony(&self, id: &str, now: i64) -> StoreResult<Option<WebauthnCeremony>> {
        // DELETE … RETURNING: of concurrent takers, the first deletes the
        // row and the others wait on its lock, then find nothing.
        Ok(sqlx::query(sql::TAKE_CEREMONY)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| ceremony_from(&r, now))
            .transpose()?
            .flatten())
    }
}
