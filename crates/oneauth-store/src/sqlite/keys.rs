//! Signing keys on SQLite (sealed; the crypto crate opens them).

use super::*;

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO signing_keys (kid, alg, sealed_key, created_at) VALUES ($1, $2, $3, $4)",
                &[&key.kid, &key.alg, &key.sealed_key, &key.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.scan(|c| {
            all(
                c,
                "SELECT kid, alg, sealed_key, created_at FROM signing_keys ORDER BY created_at DESC, rowid DESC",
                &[],
                |r| key_from(r),
            )
        })
        .await
    }
}
