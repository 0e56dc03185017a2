//! Identities on SQLite; disabling one revokes its tokens and sessions in
//! the same write.

use super::*;

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()> {
        let i = identity.clone();
        let traits = serde_json::to_string(&i.traits)?;
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_IDENTITY,
                &[
                    &i.id,
                    &i.traits.email,
                    &i.traits.phone,
                    &i.traits.username,
                    &traits,
                    &i.state.as_str(),
                    &i.password_hash,
                    &i.created_at,
                    &i.updated_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| one(c, sql::GET_IDENTITY, &[&id], |r| identity_from(r)))
    }

    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE email = $1",
                &[&email],
                |r| identity_from(r),
            )
        })
    }

    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE phone = $1",
                &[&phone],
                |r| identity_from(r),
            )
        })
    }

    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE username = $1",
                &[&username],
                |r| identity_from(r),
            )
        })
    }

    async fn update_identity(&self, identity: &Identity) -> StoreResult<bool> {
        let i = identity.clone();
        let traits = serde_json::to_string(&i.traits)?;
        self.write(move |c| {
            let n = exec(
                c,
                sql::UPDATE_IDENTITY,
                &[
                    &i.id,
                    &i.traits.email,
                    &i.traits.phone,
                    &i.traits.username,
                    &traits,
                    &i.password_hash,
                    &i.updated_at,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_identities(&self) -> StoreResult<Vec<Identity>> {
        self.scan(|c| {
            all(
                c,
                "SELECT * FROM identities ORDER BY created_at, id",
                &[],
                |r| identity_from(r),
            )
        })
        .await
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            // Tokens carry no foreign key (client_credentials tokens have no
            // subject), so they go explicitly, in the same transaction.
            exec(c, "DELETE FROM tokens WHERE subject = $1", &[&id])?;
            Ok(exec(c, "DELETE FROM identities WHERE id = $1", &[&id])? == 1)
        })
        .await
    }

    async fn set_identity_state(
        &self,
        id: &str,
        state: IdentityState,
        now: i64,
    ) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            let n = exec(
                c,
                "UPDATE identities SET state = $2, updated_at = $3 WHERE id = $1",
                &[&id, &state.as_str(), &now],
            )?;
            if n == 1 && state == IdentityState::Disabled {
                revoke_access(c, &id, None, now)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn revoke_identity_access(
        &self,
        id: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let id = id.to_owned();
        let keep = keep_session.map(str::to_owned);
        self.write(move |c| revoke_access(c, &id, keep.as_deref(), now))
            .await
    }
}

/// [`IdentityStore::revoke_identity_access`] inside the caller's transaction.
fn revoke_access(c: &Connection, id: &str, keep: Option<&str>, now: i64) -> StoreResult<u64> {
    exec(c, sql::REVOKE_SUBJECT_TOKENS, &[&id, &now])?;
    exec(c, sql::REVOKE_OTHER_SESSIONS, &[&id, &now, &keep])
}
