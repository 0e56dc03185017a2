//! Signing keys: generated on first start (one per algorithm), kept in the
//! store with the private part sealed under the system secret, loaded once.

use oneauth_core::config::SigningAlg;
use oneauth_crypto::{KeyMaterial, Keyring, SigningKey, SystemKeys};
use oneauth_store::{Store, StoredKey};

/// How long a superseded signing key stays published: as long as anything
/// it signed (id_tokens, JWT access tokens) can be live.
pub fn retention_secs(config: &oneauth_core::Config) -> i64 {
    let t = &config.tokens;
    t.id_token_ttl_secs.max(t.access_token_ttl_secs) as i64
}

/// Loads the keyring, generating a key for every algorithm that has none.
pub async fn load_or_generate(
    store: &dyn Store,
    keys: &SystemKeys,
    now: i64,
    retention: i64,
) -> anyhow::Result<Keyring> {
    let stored = store.list_keys().await?;
    for alg in SigningAlg::ALL {
        if !stored.iter().any(|k| k.alg == alg.as_str()) {
            generate(store, keys, alg, now).await?;
        }
    }
    load(store, keys, now, retention).await
}

/// A new key for `alg`; it signs from the next load on.
pub async fn generate(
    store: &dyn Store,
    keys: &SystemKeys,
    alg: SigningAlg,
    now: i64,
) -> anyhow::Result<String> {
    let der = KeyMaterial::generate(alg)?;
    let kid = uuid::Uuid::now_v7().to_string();
    store
        .insert_key(&StoredKey {
            kid: kid.clone(),
            alg: alg.as_str().into(),
            sealed_key: keys.seal(kid.as_bytes(), &der),
            created_at: now,
        })
        .await?;
    tracing::info!(kid, alg = alg.as_str(), "generated signing key");
    Ok(kid)
}

pub async fn load(
    store: &dyn Store,
    keys: &SystemKeys,
    now: i64,
    retention: i64,
) -> anyhow::Result<Keyring> {
    load_from(store.list_keys().await?, keys, now, retention)
}

/// Builds the keyring from stored rows (newest first).
pub fn load_from(
    stored: Vec<StoredKey>,
    keys: &SystemKeys,
    now: i64,
    retention: i64,
) -> anyhow::Result<Keyring> {
    let mut loaded = Vec::new();
    for k in stored {
        let alg = SigningAlg::parse(&k.alg)
            .ok_or_else(|| anyhow::anyhow!("key {} has unknown alg {}", k.kid, k.alg))?;
        let der = keys.open(k.kid.as_bytes(), &k.sealed_key).ok_or_else(|| {
            anyhow::anyhow!(
                "signing key {} cannot be decrypted: is this the system secret it was stored with?",
                k.kid
            )
        })?;
        loaded.push(SigningKey::load(k.kid, alg, k.created_at, &der)?);
    }
    Ok(Keyring::new(loaded, now, retention))
}
