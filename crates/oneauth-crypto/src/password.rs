//! argon2id password hashing on tokio's blocking pool behind a semaphore:
//! each hash takes ~19 MiB and ~14 ms of a core, so we bound how many run.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use oneauth_core::config::Password as PasswordConfig;
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of nothing, verified when the account is unknown so that a
    /// wrong identifier costs the same time as a wrong password.
    dummy: Arc<String>,
}

impl PasswordHasher {
    pub fn new(cfg: &PasswordConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            cfg.argon2_memory_kib,
            cfg.argon2_iterations,
            cfg.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let dummy = hash_with(&params, "oneauth: no such account")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cfg.max_concurrent_hashes.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let params = self.params.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_with(&params, &password)).await?
    }

    /// Verifies `password` against a stored PHC string, or against the dummy
    /// hash when `stored` is `None` (and then always fails).
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let known = stored.is_some();
        let stored = stored.map_or_else(|| self.dummy.as_str().to_owned(), str::to_owned);
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            let parsed =
                PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("bad stored hash: {e}"))?;
            Ok::<_, anyhow::Error>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await??;
        Ok(ok && known)
    }
}

fn hash_with(params: &Params, password: &str) -> anyhow::Result<String> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = PasswordHasher::new(&PasswordConfig::default()).unwrap();
        let stored = h.hash("correct horse").await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(h.verify("correct horse", Some(&stored)).await.unwrap());
        assert!(!h.verify("wrong horse", Some(&stored)).await.unwrap());
        assert!(!h.verify("oneauth: no such account", None).await.unwrap());
    }
}
