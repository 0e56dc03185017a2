//! What the admin API and the CLI do to clients and identities, in one
//! place for both front ends: the place where deleting a client revokes
//! what it holds, and where an audit trail will be written. Creating and
//! updating a client are in [`crate::client`] with its validation.

use crate::client::ClientView;
use crate::{AuthorizationServer, R};
use oneauth_core::config::SigningAlg;
use oneauth_proto::id::{ClientId, IdentityId};
use oneauth_store::{Identity, IdentityState, PoolStats};
use time::OffsetDateTime;

impl AuthorizationServer {
    /// Every registered client, without secrets.
    pub async fn list_clients(&self) -> R<Vec<ClientView>> {
        let clients = self.store.list_clients().await?;
        Ok(clients
            .into_iter()
            .map(|c| ClientView::new(c, None))
            .collect())
    }

    /// One registered client, without its secret.
    pub async fn client_view(&self, client_id: &ClientId) -> R<Option<ClientView>> {
        let client = self.store.get_client(client_id.as_str()).await?;
        Ok(client.map(|c| ClientView::new(c, None)))
    }

    /// Deletes a client; `false` if there was none.
    pub async fn delete_client(&self, client_id: &ClientId) -> R<bool> {
        Ok(self.store.delete_client(client_id.as_str()).await?)
    }

    /// Creates an identity with an email (operators may learn that the
    /// email is taken).
    pub async fn create_identity(
        &self,
        email: &str,
        password: Option<&str>,
        name: Option<String>,
        now: OffsetDateTime,
    ) -> R<Identity> {
        self.identities.create(email, password, name, now).await
    }

    pub async fn list_identities(&self) -> R<Vec<Identity>> {
        Ok(self.store.list_identities().await?)
    }

    pub async fn identity(&self, id: &IdentityId) -> R<Option<Identity>> {
        self.identities.get(id.as_str()).await
    }

    /// Disables or re-enables an identity; disabling revokes its sessions
    /// and tokens at once. The identity as it is now, `None` if there is
    /// none.
    pub async fn set_identity_state(
        &self,
        id: &IdentityId,
        state: IdentityState,
        now: OffsetDateTime,
    ) -> R<Option<Identity>> {
        if !self
            .store
            .set_identity_state(id.as_str(), state, now.unix_timestamp())
            .await?
        {
            return Ok(None);
        }
        self.identity(id).await
    }

    /// Deletes an identity; `false` if there was none.
    pub async fn delete_identity(&self, id: &IdentityId) -> R<bool> {
        Ok(self.store.delete_identity(id.as_str()).await?)
    }

    /// A new signing key of `alg` (default: the configured id_token
    /// algorithm); every node signs with it from its next key reload, and
    /// the old one stays published until what it signed has expired.
    /// Returns the new key's id and algorithm.
    pub async fn rotate_signing_key(
        &self,
        alg: Option<SigningAlg>,
        now: OffsetDateTime,
    ) -> anyhow::Result<(String, SigningAlg)> {
        let alg = alg.unwrap_or(self.config.tokens.id_token_signing_alg);
        let kid = crate::keys::generate(
            self.store.as_ref(),
            &self.system_keys,
            alg,
            now.unix_timestamp(),
        )
        .await?;
        Ok((kid, alg))
    }

    /// Readiness: the database answers and has this binary's schema.
    pub async fn ready(&self) -> R<bool> {
        self.store.ping().await?;
        Ok(self.store.schema_current().await?)
    }

    /// The database pool's connections, for metrics.
    pub fn pool_stats(&self) -> PoolStats {
        self.store.pool_stats()
    }
}
