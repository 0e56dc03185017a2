//! Social login links on PostgreSQL; the SQL is shared with SQLite.

use super::PostgresStore;
use crate::common::sql;
use crate::rows::*;
use crate::*;

#[async_trait]
impl ExternalIdentityStore for PostgresStore {
    async fn insert_external_identity(&self, link: &ExternalIdentity) -> StoreResult<()> {
        sqlx::query(sql::INSERT_EXTERNAL_IDENTITY)
            .bind(&link.provider)
            .bind(&link.subject)
            .bind(&link.identity_id)
            .bind(link.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_external_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<ExternalIdentity>> {
        sqlx::query(sql::GET_EXTERNAL_IDENTITY)
            .bind(provider)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(external_identity_from)
            .transpose()
    }
}
