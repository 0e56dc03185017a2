//! PKCE (RFC 7636, S256 only): a verifier matches its own challenge exactly
//! when it is 43–128 unreserved characters, and nothing else's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_crypto::{b64url, sha256};
use oneauth_oauth2::pkce::{check_challenge, verify};

fn well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fuzz_target!(|input: (String, String, Option<String>)| {
    let (verifier, other, method) = input;
    let challenge = b64url(sha256(&verifier));
    // Every S256 challenge is accepted at the authorization endpoint.
    assert!(check_challenge(&challenge, Some("S256")).is_ok());
    assert_eq!(verify(&verifier, &challenge), well_formed(&verifier));
    // Another value's challenge, or an arbitrary string, never verifies
    // (barring a SHA-256 collision).
    if other != verifier && other != challenge {
        assert!(!verify(&verifier, &b64url(sha256(&other))));
        assert!(!verify(&verifier, &other));
    }
    // Arbitrary challenges: S256 only, never a panic.
    if check_challenge(&other, method.as_deref()).is_ok() {
        assert_eq!(method.as_deref(), Some("S256"));
        assert_eq!(other.len(), 43);
    }
});
