//! Opaque tokens: `prefix + base64url(body) + "." + base64url(tag)`. The body
//! is an id (the mint time in milliseconds, 6 bytes) followed by a 256-bit
//! random value; the tag is an HMAC under the system secret, so a forged
//! token is refused without touching the database.
//!
//! The database keys a token by its id in hex followed by SHA-256 of the
//! whole token. The id makes keys minted later sort later, so a store's
//! index grows at its end: with random keys every insert lands on a random
//! page, which stops fitting a page cache at a million tokens and writes a
//! page per token per commit. The hash means a dump of the database cannot
//! be replayed (the id is the time the token was minted, which the database
//! keeps anyway as `issued_at`).
//!
//! Tokens minted before ordered keys have a body of the random value alone,
//! a tag over another message, and are keyed by the hash alone; they are
//! still checked and found.

use crate::{b64url, b64url_decode, ct_eq, sha256};
use aws_lc_rs::hmac;
use time::OffsetDateTime;

/// What a token is for; part of the tagged message, so an access token can
/// never pass as a refresh token or a code even with prefixes configured alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    AccessToken,
    RefreshToken,
    AuthorizationCode,
    Session,
    Challenge,
    DeviceCode,
}

impl TokenKind {
    fn label(self) -> &'static [u8] {
        match self {
            Self::AccessToken => b"at",
            Self::RefreshToken => b"rt",
            Self::AuthorizationCode => b"ac",
            Self::Session => b"se",
            Self::Challenge => b"ch",
            Self::DeviceCode => b"dc",
        }
    }
}

/// How a token's stored key is made; part of the tagged message, so the
/// key's form cannot be chosen by whoever presents the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyForm {
    /// The id in hex, then the hash: every token minted now.
    Ordered,
    /// The hash alone: tokens minted before ordered keys.
    Hashed,
}

impl KeyForm {
    fn separator(self) -> &'static [u8] {
        match self {
            Self::Ordered => b"2.",
            Self::Hashed => b".",
        }
    }

    /// Tells the forms apart by the body's length (base64url characters).
    fn of_body(body: &str) -> Option<Self> {
        match body.len() {
            ORDERED_BODY_CHARS => Some(Self::Ordered),
            HASHED_BODY_CHARS => Some(Self::Hashed),
            _ => None,
        }
    }
}

/// The stored form of a token: what the database keys it by.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(pub String);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

impl TokenHash {
    /// base64url SHA-256 of the token: for values that are not minted here
    /// (JWTs, browser cookies) and tokens minted before ordered keys.
    pub fn of(token: &str) -> Self {
        Self(b64url(sha256(token)))
    }

    fn ordered(millis: u64, token: &str) -> Self {
        Self(format!("{millis:012x}{}", b64url(sha256(token))))
    }
}

pub struct TokenMinter {
    key: hmac::Key,
}

/// The id: milliseconds since the epoch, big-endian (enough until the
/// year 10889).
const ID_BYTES: usize = 6;
const RANDOM_BYTES: usize = 32;
/// Unpadded base64url lengths of the two forms' bodies.
const ORDERED_BODY_CHARS: usize = ((ID_BYTES + RANDOM_BYTES) * 4).div_ceil(3);
const HASHED_BODY_CHARS: usize = (RANDOM_BYTES * 4).div_ceil(3);
const TAG_BYTES: usize = 16;

impl TokenMinter {
    pub fn new(key: hmac::Key) -> Self {
        Self { key }
    }

    fn tag(&self, form: KeyForm, kind: TokenKind, body: &str) -> [u8; TAG_BYTES] {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(kind.label());
        ctx.update(form.separator());
        ctx.update(body.as_bytes());
        let full = ctx.sign();
        full.as_ref()[..TAG_BYTES]
            .try_into()
            .expect("HMAC-SHA256 is 32 bytes")
    }

    /// A fresh token and its stored key. `now` only orders keys: nothing is
    /// decided by it, so a clock stepping back costs locality, not
    /// correctness.
    pub fn mint(&self, kind: TokenKind, prefix: &str, now: OffsetDateTime) -> (String, TokenHash) {
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mut body = [0u8; ID_BYTES + RANDOM_BYTES];
        body[..ID_BYTES].copy_from_slice(&millis.to_be_bytes()[8 - ID_BYTES..]);
        aws_lc_rs::rand::fill(&mut body[ID_BYTES..]).expect("system RNG");
        let body = b64url(body);
        let tag = self.tag(KeyForm::Ordered, kind, &body);
        let token = format!("{prefix}{body}.{}", b64url(tag));
        let key = TokenHash::ordered(millis, &token);
        (token, key)
    }

    /// The stored key of a well-formed, correctly tagged token; `None` for
    /// anything else. Costs one HMAC, no I/O.
    pub fn check(&self, kind: TokenKind, prefix: &str, token: &str) -> Option<TokenHash> {
        let rest = token.strip_prefix(prefix)?;
        let (body, tag) = rest.split_once('.')?;
        let form = KeyForm::of_body(body)?;
        if tag.len() > 32 {
            return None;
        }
        let tag = b64url_decode(tag)?;
        if !ct_eq(&self.tag(form, kind, body), &tag) {
            return None;
        }
        Some(match form {
            KeyForm::Ordered => {
                // The id's bytes are whole base64 groups: 6 bytes, 8 characters.
                let id = b64url_decode(&body[..ID_BYTES / 3 * 4])?;
                let mut millis = [0u8; 8];
                millis[8 - ID_BYTES..].copy_from_slice(&id);
                TokenHash::ordered(u64::from_be_bytes(millis), token)
            }
            KeyForm::Hashed => TokenHash::of(token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minter() -> TokenMinter {
        TokenMinter::new(hmac::Key::new(hmac::HMAC_SHA256, b"k"))
    }

    const NOW: OffsetDateTime = time::macros::datetime!(2026-11-28 16:00 UTC);

    #[test]
    fn minted_tokens_check_and_hash_consistently() {
        let m = minter();
        let (t, h) = m.mint(TokenKind::AccessToken, "ory_at_", NOW);
        assert!(t.starts_with("ory_at_"));
        assert_eq!(
            m.check(TokenKind::AccessToken, "ory_at_", &t),
            Some(h.clone())
        );
        assert!(!h.0.contains(&t[7..]));
        assert!(h.0.ends_with(&TokenHash::of(&t).0));
        // The mint time, then a full 256-bit random value.
        let (body, _) = t[7..].split_once('.').unwrap();
        let raw = b64url_decode(body).unwrap();
        assert_eq!(raw.len(), 6 + 32);
        let millis = (NOW.unix_timestamp_nanos() / 1_000_000) as u64;
        assert_eq!(raw[..6], millis.to_be_bytes()[2..]);
        assert!(h.0.starts_with(&format!("{millis:012x}")));
    }

    #[test]
    fn keys_minted_later_sort_later() {
        let m = minter();
        let (_, first) = m.mint(TokenKind::AccessToken, "p_", NOW);
        let later = NOW + time::Duration::milliseconds(1);
        let keys: Vec<String> = (0..100)
            .map(|_| m.mint(TokenKind::AccessToken, "p_", later).1.0)
            .collect();
        assert!(keys.iter().all(|k| *k > first.0), "{first:?} {keys:?}");
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }

    #[test]
    fn tokens_minted_before_ordered_keys_are_found_by_their_hash() {
        let m = minter();
        let body = crate::random_b64url(RANDOM_BYTES);
        let tag = m.tag(KeyForm::Hashed, TokenKind::RefreshToken, &body);
        let old = format!("p_{body}.{}", b64url(tag));
        assert_eq!(
            m.check(TokenKind::RefreshToken, "p_", &old),
            Some(TokenHash::of(&old))
        );
        assert_eq!(m.check(TokenKind::AccessToken, "p_", &old), None);
    }

    #[test]
    fn forged_or_cross_kind_tokens_fail_the_tag() {
        let m = minter();
        let (t, _) = m.mint(TokenKind::AccessToken, "p_", NOW);
        assert_eq!(m.check(TokenKind::RefreshToken, "p_", &t), None);
        let mut forged = t.clone();
        forged.replace_range(3..4, if &t[3..4] == "A" { "B" } else { "A" });
        assert_eq!(m.check(TokenKind::AccessToken, "p_", &forged), None);
        assert_eq!(m.check(TokenKind::AccessToken, "p_", "p_garbage"), None);
        assert_eq!(m.check(TokenKind::AccessToken, "x_", &t), None);
    }
}
