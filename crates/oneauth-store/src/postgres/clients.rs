//! Clients on PostgreSQL, with the origin and logout-URI tables kept from
//! their redirect URIs.

use super::*;

impl PostgresStore {
    async fn write_client_origins(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        client: &Client,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM client_origins WHERE client_id = $1")
            .bind(&client.client_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM client_logout_uris WHERE client_id = $1")
            .bind(&client.client_id)
            .execute(&mut **tx)
            .await?;
        for uri in &client.post_logout_redirect_uris {
            sqlx::query("INSERT INTO client_logout_uris (uri, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(uri)
                .bind(&client.client_id)
                .execute(&mut **tx)
                .await?;
        }
        for origin in client_origins(client) {
            sqlx::query("INSERT INTO client_origins (origin, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(origin)
                .bind(&client.client_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ClientStore for PostgresStore {
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::INSERT_CLIENT)
            .bind(&client.client_id)
            .bind(&client.secret_hash)
            .bind(serde_json::to_string(client)?)
            .bind(client.created_at)
            .bind(client.updated_at)
            .execute(&mut *tx)
            .await?;
        Self::write_client_origins(&mut tx, client).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(sql::UPDATE_CLIENT)
            .bind(&client.client_id)
            .bind(&client.secret_hash)
            .bind(serde_json::to_string(client)?)
            .bind(client.updated_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            Self::write_client_origins(&mut tx, client).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(sql::GET_CLIENT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(client_from).collect()
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // No index on tokens.client_id (it would cost every token insert):
        // a deletion is rare and scans once.
        sqlx::query("DELETE FROM tokens WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_logout_uris WHERE uri = $1 LIMIT 1")
            .bind(uri)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}
