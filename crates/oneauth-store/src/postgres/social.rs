//! Social login links on PostgreSQL. Plain SQL, the same on both backends.

use super::PostgresStore;
use crate::*;
use sqlx::Row as _;

#[async_trait]
impl ExternalIdentityStore for PostgresStore {
    async fn insert_external_identity(&self, link: &ExternalIdentity) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO external_identities (provider, subject, identity_id, created_at)
             VALUES ($1, $2, $3, $4)",
        )
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
        let row = sqlx::query(
            "SELECT provider, subject, identity_id, created_at FROM external_identities
             WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ExternalIdentity {
                provider: r.try_get("provider")?,
                subject: r.try_get("subject")?,
                identity_id: r.try_get("identity_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }
}
