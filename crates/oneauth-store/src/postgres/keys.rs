//! Signing keys on PostgreSQL (sealed; the crypto crate opens them).

use super::*;

#[async_trait]
impl KeyStore for PostgresStore {
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_key)
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query("SELECT kid, alg, sealed_key, created_at FROM signing_keys ORDER BY created_at DESC, seq DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from).collect()
    }
}
