//! Passkeys and WebAuthn ceremonies on SQLite; the SQL is shared with
//! PostgreSQL.

use super::{SqliteStore, all, exec, one};
use crate::passkey::{ceremony_from, passkey_from, sql};
use crate::*;

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey(&self, p: &StoredPasskey) -> StoreResult<()> {
        let p = p.clone();
        self.write(move |c| {
            exec(
                c,
                sql::INSERT,
                &[
                    &p.id,
                    &p.identity_id,
                    &p.credential_id,
                    &p.name,
                    &p.passkey,
                    &p.created_at,
                    &p.last_used_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_passkeys(&self, identity_id: &str) -> StoreResult<Vec<StoredPasskey>> {
        let identity_id = identity_id.to_owned();
        self.scan(move |c| all(c, sql::LIST, &[&identity_id], |r| passkey_from(r)))
            .await
    }

    async fn get_passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>> {
        self.read(|c| {
            one(c, sql::BY_CREDENTIAL, &[&credential_id], |r| {
                passkey_from(r)
            })
        })
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        old: &str,
        new: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (id, old, new) = (id.to_owned(), old.to_owned(), new.to_owned());
        self.write(move |c| Ok(exec(c, sql::RECORD_USE, &[&id, &old, &new, &now])? == 1))
            .await
    }

    async fn rename_passkey(&self, identity_id: &str, id: &str, name: &str) -> StoreResult<bool> {
        let (identity_id, id, name) = (identity_id.to_owned(), id.to_owned(), name.to_owned());
        self.write(move |c| Ok(exec(c, sql::RENAME, &[&identity_id, &id, &name])? == 1))
            .await
    }

    async fn delete_passkey(&self, identity_id: &str, id: &str) -> StoreResult<bool> {
        let (identity_id, id) = (identity_id.to_owned(), id.to_owned());
        self.write(move |c| Ok(exec(c, sql::DELETE, &[&identity_id, &id])? == 1))
            .await
    }

    async fn insert_ceremony(&self, w: &WebauthnCeremony) -> StoreResult<()> {
        let w = w.clone();
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_CEREMONY,
                &[
                    &w.id,
                    &w.kind.as_str(),
                    &w.identity_id,
                    &w.state,
                    &w.expires_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_ceremony(&self, id: &str, now: i64) -> StoreResult<Option<WebauthnCeremony>> {
        let id = id.to_owned();
        // On the single writer: the delete and its RETURNING are one step.
        self.write(move |c| {
            Ok(one(c, sql::TAKE_CEREMONY, &[&id], |r| ceremony_from(r, now))?.flatten())
        })
        .await
    }
}
