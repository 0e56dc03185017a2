//! Social login links on SQLite; the SQL is shared with PostgreSQL.

use super::{SqliteStore, exec, one};
use crate::common::sql;
use crate::rows::*;
use crate::*;

#[async_trait]
impl ExternalIdentityStore for SqliteStore {
    async fn insert_external_identity(&self, link: &ExternalIdentity) -> StoreResult<()> {
        let link = link.clone();
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_EXTERNAL_IDENTITY,
                &[
                    &link.provider,
                    &link.subject,
                    &link.identity_id,
                    &link.created_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_external_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<ExternalIdentity>> {
        self.read(|c| {
            one(c, sql::GET_EXTERNAL_IDENTITY, &[&provider, &subject], |r| {
                external_identity_from(r)
            })
        })
    }
}
