//! Clients on SQLite, with the origin and logout-URI tables kept from their
//! redirect URIs.

use super::*;

pub(super) fn client_in(c: &Connection, id: &str) -> StoreResult<Option<Client>> {
    one(c, sql::GET_CLIENT, &[&id], |r| client_from(r))
}

fn write_client_origins(conn: &Connection, client: &Client) -> StoreResult<()> {
    let id = &client.client_id;
    exec(
        conn,
        "DELETE FROM client_origins WHERE client_id = $1",
        &[id],
    )?;
    exec(
        conn,
        "DELETE FROM client_logout_uris WHERE client_id = $1",
        &[id],
    )?;
    for uri in &client.post_logout_redirect_uris {
        exec(
            conn,
            "INSERT OR IGNORE INTO client_logout_uris (uri, client_id) VALUES ($1, $2)",
            &[uri, id],
        )?;
    }
    for origin in client_origins(client) {
        exec(
            conn,
            "INSERT OR IGNORE INTO client_origins (origin, client_id) VALUES ($1, $2)",
            &[&origin, id],
        )?;
    }
    Ok(())
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let client = client.clone();
        let metadata = serde_json::to_string(&client)?;
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_CLIENT,
                &[
                    &client.client_id,
                    &client.secret_hash,
                    &metadata,
                    &client.created_at,
                    &client.updated_at,
                ],
            )?;
            write_client_origins(c, &client)
        })
        .await
    }

    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let client = client.clone();
        let metadata = serde_json::to_string(&client)?;
        self.write(move |c| {
            let n = exec(
                c,
                sql::UPDATE_CLIENT,
                &[
                    &client.client_id,
                    &client.secret_hash,
                    &metadata,
                    &client.updated_at,
                ],
            )?;
            if n == 1 {
                write_client_origins(c, &client)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<Client>> {
        self.read(|c| client_in(c, id))
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.scan(|c| {
            all(
                c,
                "SELECT * FROM clients ORDER BY created_at, id",
                &[],
                |r| client_from(r),
            )
        })
        .await
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            // No index on tokens.client_id (it would cost every token
            // insert): a deletion is rare and scans once.
            exec(c, "DELETE FROM tokens WHERE client_id = $1", &[&id])?;
            Ok(exec(c, "DELETE FROM clients WHERE id = $1", &[&id])? == 1)
        })
        .await
    }

    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(one(
                c,
                "SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1",
                &[&origin],
                |_| Ok(()),
            )?
            .is_some())
        })
    }

    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(one(
                c,
                "SELECT 1 FROM client_logout_uris WHERE uri = $1 LIMIT 1",
                &[&uri],
                |_| Ok(()),
            )?
            .is_some())
        })
    }
}
