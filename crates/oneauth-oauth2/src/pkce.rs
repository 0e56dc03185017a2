//! PKCE (RFC 7636), S256 only: `plain` gives nothing against an attacker who
//! can read the authorization request, so it is refused.

use oneauth_core::{Error, Result};
use oneauth_crypto::{b64url, ct_eq, sha256};
use oneauth_store::Client;

/// RFC 9700 §2.1.1: every client of the code flow, public or confidential,
/// sends PKCE, unless a confidential legacy back end was registered with
/// `allow_no_pkce`. Public clients never go without it.
pub fn required(client: &Client) -> bool {
    !client.allow_no_pkce || client.is_public()
}

fn is_unreserved(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates the authorization request's `code_challenge` and method
/// (RFC 7636 §4.3). A missing method means `plain` (§4.3), which we refuse.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<()> {
    match method {
        Some("S256") => {}
        Some("plain") | None => {
            return Err(Error::InvalidPkce(
                "code_challenge_method must be S256; plain is not supported.".into(),
            ));
        }
        Some(_) => return Err(Error::InvalidPkce("Unknown code_challenge_method.".into())),
    }
    // base64url(SHA-256) is always 43 characters.
    if challenge.len() != 43 || !is_unreserved(challenge) {
        return Err(Error::InvalidPkce(
            "code_challenge must be a base64url SHA-256 (43 characters).".into(),
        ));
    }
    Ok(())
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in
/// constant time. The verifier must be 43–128 unreserved characters (§4.1).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && is_unreserved(verifier)
        && ct_eq(b64url(sha256(verifier)).as_bytes(), challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_challenge(challenge, Some("S256")).is_ok());
        assert!(verify(verifier, challenge));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
    }

    #[test]
    fn rejects_plain_and_missing_methods() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_challenge(c, Some("plain")).is_err());
        assert!(check_challenge(c, None).is_err());
        assert!(check_challenge("short", Some("S256")).is_err());
    }

    #[test]
    fn rejects_short_verifiers() {
        let v = "abc";
        assert!(!verify(v, &b64url(sha256(v))));
    }
}
