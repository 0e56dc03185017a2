//! Keys and secrets: system-secret derivation, opaque token minting and
//! hashing, JWS signing with cached key pairs, argon2id on the blocking pool,
//! constant-time comparison. Pure functions and types, no storage.

pub mod jws;
pub mod password;
pub mod secret;
pub mod token;

pub use jws::{Jwk, KeyMaterial, Keyring, SigningKey};
pub use password::PasswordHasher;
pub use secret::SystemKeys;
pub use token::{TokenHash, TokenKind, TokenMinter};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// `n` bytes from the OS-seeded CSRNG, base64url-encoded.
pub fn random_b64url(n: usize) -> String {
    let mut buf = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut buf).expect("system RNG");
    b64url(buf)
}

/// `len` symbols drawn uniformly from `alphabet` (1 to 256 symbols): bytes
/// at or above the largest multiple of its size are drawn again, so there
/// is no modulo bias.
pub fn random_string(alphabet: &[u8], len: usize) -> String {
    let bound = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 32];
        aws_lc_rs::rand::fill(&mut buf).expect("system RNG");
        out.extend(
            buf.iter()
                .filter(|&&b| usize::from(b) < bound)
                .map(|&b| char::from(alphabet[usize::from(b) % alphabet.len()]))
                .take(len - out.len()),
        );
    }
    out
}

pub fn sha256(data: impl AsRef<[u8]>) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data.as_ref());
    d.as_ref().try_into().expect("SHA-256 is 32 bytes")
}

pub fn sha512(data: impl AsRef<[u8]>) -> [u8; 64] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, data.as_ref());
    d.as_ref().try_into().expect("SHA-512 is 64 bytes")
}

/// Compares secrets without leaking where they first differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
