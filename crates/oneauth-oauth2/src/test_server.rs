//! For unit tests: an authorization server on a fresh SQLite file (removed
//! on drop), with cheap password hashes.

use crate::AuthorizationServer;
use oneauth_core::Config;
use oneauth_crypto::{SystemKeys, TokenMinter};
use oneauth_identity::Identities;
use std::sync::Arc;

pub(crate) struct Fixture {
    pub server: AuthorizationServer,
    dir: std::path::PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server with the default configuration changed by `config`.
pub(crate) async fn fixture(config: impl FnOnce(&mut Config)) -> Fixture {
    let dir = std::env::temp_dir().join(format!("oneauth-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = oneauth_store::open(&format!("sqlite://{}", dir.join("t.db").display()))
        .await
        .unwrap();
    let mut cfg = Config::default();
    cfg.password.argon2_memory_kib = 64;
    cfg.password.argon2_iterations = 1;
    config(&mut cfg);
    let keys = Arc::new(SystemKeys::derive(b"test secret test secret test secret"));
    let minter = Arc::new(TokenMinter::new(keys.token_tag.clone()));
    let keyring = crate::keys::load_or_generate(store.as_ref(), &keys, 0, 3600)
        .await
        .unwrap();
    let identities =
        Arc::new(Identities::new(store.clone(), minter.clone(), keys.clone(), &cfg).unwrap());
    let server = AuthorizationServer::new(store, Arc::new(cfg), keys, minter, identities, keyring);
    Fixture { server, dir }
}
