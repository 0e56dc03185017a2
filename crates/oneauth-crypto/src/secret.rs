//! The system secret and the keys derived from it. One secret, one HKDF
//! label per purpose, so no key is used for two things.

use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::hmac;

/// Purpose-bound keys derived from the system secret.
pub struct SystemKeys {
    /// Tags opaque tokens, so forgeries are rejected before any lookup.
    pub token_tag: hmac::Key,
    /// Hashes client secrets for storage (HMAC, cheap on the token path).
    pub client_secret: hmac::Key,
    /// Signs CSRF tokens of the UI's forms.
    pub csrf: hmac::Key,
    /// Hashes one-time codes for storage: six digits hashed without a key
    /// would fall to a million guesses against a database dump.
    pub one_time_code: hmac::Key,
    /// Hashes device flows' user codes (RFC 8628) for storage: eight
    /// letters hashed without a key would fall to a dictionary of them.
    pub user_code: hmac::Key,
    /// Signs the sign-up proof a browser keeps after a sign-up, so that
    /// proving an address there keeps the password chosen at the sign-up.
    pub signup: hmac::Key,
    /// Hashes recovery codes (second factors) for storage: ten random
    /// symbols, but a database dump should still not give them away.
    pub recovery_code: hmac::Key,
    /// Encrypts signing keys at rest.
    key_encryption: RandomizedNonceKey,
}

impl std::fmt::Debug for SystemKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemKeys(..)")
    }
}

fn derive(prk: &aws_lc_rs::hkdf::Prk, label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let info = [label];
    prk.expand(&info, HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut out))
        .expect("HKDF-SHA256 expands 32 bytes");
    out
}

impl SystemKeys {
    pub fn derive(system_secret: &[u8]) -> Self {
        let prk = Salt::new(HKDF_SHA256, b"oneauth/v1").extract(system_secret);
        let hmac_key = |label: &[u8]| hmac::Key::new(hmac::HMAC_SHA256, &derive(&prk, label));
        Self {
            token_tag: hmac_key(b"token-tag"),
            client_secret: hmac_key(b"client-secret"),
            csrf: hmac_key(b"csrf"),
            one_time_code: hmac_key(b"one-time-code"),
            signup: hmac_key(b"signup-proof"),
            user_code: hmac_key(b"user-code"),
            recovery_code: hmac_key(b"recovery-code"),
            key_encryption: RandomizedNonceKey::new(&AES_256_GCM, &derive(&prk, b"key-encryption"))
                .expect("AES-256-GCM takes 32-byte keys"),
        }
    }

    /// AES-256-GCM with a random nonce; output is `nonce || ciphertext || tag`.
    /// `aad` binds the ciphertext to its row (the key id).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut buf = plaintext.to_vec();
        let nonce = self
            .key_encryption
            .seal_in_place_append_tag(Aad::from(aad), &mut buf)
            .expect("AES-GCM seal");
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&buf);
        out
    }

    /// Fails when the data was not sealed under this secret and `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        const NONCE: usize = 12;
        if sealed.len() < NONCE {
            return None;
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE]).ok()?;
        let mut buf = sealed[NONCE..].to_vec();
        let plain = self
            .key_encryption
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .ok()?
            .len();
        buf.truncate(plain);
        Some(buf)
    }

    /// The stored form of a client secret.
    pub fn hash_client_secret(&self, secret: &str) -> String {
        crate::b64url(hmac::sign(&self.client_secret, secret.as_bytes()))
    }

    /// The stored form of a device flow's user code (normalised first).
    pub fn hash_user_code(&self, user_code: &str) -> String {
        crate::b64url(hmac::sign(&self.user_code, user_code.as_bytes()))
    }

    /// Constant-time check of a presented client secret against its stored form.
    pub fn verify_client_secret(&self, presented: &str, stored: &str) -> bool {
        crate::ct_eq(
            self.hash_client_secret(presented).as_bytes(),
            stored.as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_secret_and_aad() {
        let a = SystemKeys::derive(b"0123456789abcdef0123456789abcdef");
        let b = SystemKeys::derive(b"another secret of 32 characters!");
        let sealed = a.seal(b"kid-1", b"private key bytes");
        assert_eq!(
            a.open(b"kid-1", &sealed).as_deref(),
            Some(&b"private key bytes"[..])
        );
        assert_eq!(a.open(b"kid-2", &sealed), None);
        assert_eq!(b.open(b"kid-1", &sealed), None);
        assert!(!sealed.windows(7).any(|w| w == b"private"));
    }

    #[test]
    fn client_secrets_verify_by_their_hmac() {
        let k = SystemKeys::derive(b"0123456789abcdef0123456789abcdef");
        let stored = k.hash_client_secret("s3cret");
        assert!(k.verify_client_secret("s3cret", &stored));
        assert!(!k.verify_client_secret("s3cres", &stored));
        assert_ne!(stored, "s3cret");
    }
}
