//! Opaque tokens: `prefix + base64url(32 random bytes) + "." + base64url(tag)`
//! where the tag is an HMAC under the system secret. The tag lets us refuse a
//! forged token without touching the database; the database keeps only
//! SHA-256 of the whole token, so a dump of it cannot be replayed.

use crate::{b64url, b64url_decode, ct_eq, sha256};
use aws_lc_rs::hmac;

/// What a token is for; part of the tagged message, so an access token can
/// never pass as a refresh token or a code even with prefixes configured alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    Session,
    Challenge,
}

impl TokenKind {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AccessToken => b"at",
            Self::RefreshToken => b"rt",
            Self::AuthorizationCode => b"ac",
            Self::Session => b"se",
            Self::Challenge => b"ch",
        }
    }
}

/// The stored form of a token: base64url SHA-256 of the token string.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(b64url(sha256(token)))
    }
}

pub struct TokenMinter {
    key: hmac::Key,
}

const RANDOM_BYTES: usize = 32;
const TAG_BYTES: usize = 16;

impl TokenMinter {
    pub fn new(key: hmac::Key) -> Self {
        Self { key }
    }

    fn tag(&self, kind: TokenKind, body: &str) -> [u8; TAG_BYTES] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(kind.label());
        ctx.update(b".");
        ctx.update(body.as_bytes());
        let full = ctx.sign();
        full.as_ref()[..TAG_BYTES]
            .try_into()
            .expect("HMAC-SHA256 is 32 bytes")
    }

    /// A fresh token and its stored hash.
    pub fn mint(&self, kind: TokenKind, prefix: &str) -> (String, TokenHash) {
        let body = crate::random_b64url(RANDOM_BYTES);
        let token = format!("{prefix}{body}.{}", b64url(self.tag(kind, &body)));
        let hash = TokenHash::of(&token);
        (token, hash)
    }

    /// The stored hash of a well-formed, correctly tagged token; `None` for
    /// anything else. Costs one HMAC, no I/O.
    pub fn check(&self, kind: TokenKind, prefix: &str, token: &str) -> Option<TokenHash> {
        let rest = token.strip_prefix(prefix)?;
        let (body, tag) = rest.split_once('.')?;
        if body.len() != 43 || tag.len() > 32 {
            return None;
        }
        let tag = b64url_decode(tag)?;
        ct_eq(&self.tag(kind, body), &tag).then(|| TokenHash::of(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> TokenMinter {
        TokenMinter::new(hmac::Key::new(hmac::HMAC_SHA256, b"k"))
    }

    #[test]
    fn minted_tokens_check_and_hash_consistently() {
        let m = minter();
        let (t, h) = m.mint(TokenKind::AccessToken, "ory_at_");
        assert!(t.starts_with("ory_at_"));
        assert_eq!(
            m.check(TokenKind::AccessToken, "ory_at_", &t),
            Some(h.clone())
        );
        assert_ne!(h.0, t);
    }

    #[test]
    fn forged_or_cross_kind_tokens_fail_the_tag() {
        let m = minter();
        let (t, _) = m.mint(TokenKind::AccessToken, "p_");
        assert_eq!(m.check(TokenKind::RefreshToken, "p_", &t), None);
        let mut forged = t.clone();
        forged.replace_range(3..4, if &t[3..4] == "A" { "B" } else { "A" });
        assert_eq!(m.check(TokenKind::AccessToken, "p_", &forged), None);
        assert_eq!(m.check(TokenKind::AccessToken, "p_", "p_garbage"), None);
        assert_eq!(m.check(TokenKind::AccessToken, "x_", &t), None);
    }
}
