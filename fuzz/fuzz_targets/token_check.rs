//! Opaque token bodies: `TokenMinter::check` refuses anything it did not
//! mint (for this kind and prefix) and finds what it minted under the key
//! minting gave.
#![no_main]

use aws_lc_rs::hmac;
use libfuzzer_sys::{arbitrary, fuzz_target};
use oneauth_crypto::{TokenHash, TokenKind, TokenMinter};
use std::sync::LazyLock;

static MINTER: LazyLock<TokenMinter> =
    LazyLock::new(|| TokenMinter::new(hmac::Key::new(hmac::HMAC_SHA256, b"fuzz")));

const KINDS: [TokenKind; 5] = [
    TokenKind::AccessToken,
    TokenKind::RefreshToken,
    TokenKind::AuthorizationCode,
    TokenKind::Session,
    TokenKind::Challenge,
];

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    kind: u8,
    prefix: String,
    /// Any presented value.
    presented: String,
    /// A minted token, changed at this byte (or left alone).
    edit_at: Option<(u16, u8)>,
    mint_millis: i64,
}

fuzz_target!(|input: Input| {
    let kind = KINDS[usize::from(input.kind) % KINDS.len()];
    // Values nobody minted never pass.
    assert_eq!(MINTER.check(kind, &input.prefix, &input.presented), None);

    let now = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(input.mint_millis.rem_euclid(1 << 47)) * 1_000_000,
    )
    .expect("in range");
    let (token, key) = MINTER.mint(kind, &input.prefix, now);
    assert_eq!(MINTER.check(kind, &input.prefix, &token), Some(key.clone()));
    assert!(key.0.ends_with(&TokenHash::of(&token).0));
    for other in KINDS.into_iter().filter(|k| *k != kind) {
        assert_eq!(MINTER.check(other, &input.prefix, &token), None);
    }
    if let Some((at, byte)) = input.edit_at {
        let mut bytes = token.clone().into_bytes();
        let i = usize::from(at) % bytes.len();
        bytes[i] = byte;
        if let Ok(edited) = String::from_utf8(bytes)
            && edited != token
        {
            // A changed token is refused: base64url has one encoding per
            // value, and the tag covers the body.
            assert_eq!(MINTER.check(kind, &input.prefix, &edited), None, "{edited}");
        }
    }
});
