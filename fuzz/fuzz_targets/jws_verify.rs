//! Compact JWS verification (`Keyring::verify_compact`, which checks
//! `id_token_hint`s): nothing unsigned or altered passes, what one of our
//! keys signed verifies to its claims as its own type only (an RFC 9068
//! access token is never an id_token).
#![no_main]

use libfuzzer_sys::{arbitrary, fuzz_target};
use oneauth_core::config::SigningAlg;
use oneauth_crypto::{KeyMaterial, Keyring, SigningKey};
use std::sync::LazyLock;

static RING: LazyLock<Keyring> = LazyLock::new(|| {
    let keys = SigningAlg::ALL
        .into_iter()
        .map(|alg| {
            let der = KeyMaterial::generate(alg).expect("key");
            SigningKey::load(alg.as_str().into(), alg, 0, &der).expect("loads")
        })
        .collect();
    Keyring::new(keys, 0, 60)
});

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    /// Any presented value.
    presented: String,
    /// Claims to sign: any JSON text (used when it parses).
    claims: String,
    alg: u8,
    /// Sign as an access token (`at+jwt`) instead of an id_token (`JWT`).
    access_token: bool,
    /// A signed token, changed at this byte (or left alone).
    edit_at: Option<(u16, u8)>,
}

fuzz_target!(|input: Input| {
    // Forging a signature is out of reach: a value we did not sign fails.
    for typ in ["JWT", "at+jwt"] {
        assert_eq!(RING.verify_compact(&input.presented, typ), None);
    }

    let Ok(claims) = serde_json::from_str::<serde_json::Value>(&input.claims) else {
        return;
    };
    let alg = SigningAlg::ALL[usize::from(input.alg) % SigningAlg::ALL.len()];
    let key = RING.signer(alg).expect("one key per algorithm");
    let (typ, other) = if input.access_token {
        ("at+jwt", "JWT")
    } else {
        ("JWT", "at+jwt")
    };
    let jws = key.sign_compact(typ, &claims).expect("signs");
    // The claims as their JSON text reads back: serde_json's float parsing
    // is not always correctly rounded, so a float may not round-trip
    // exactly (1.0000000000000001e45 reads back as 1e45).
    let signed: serde_json::Value =
        serde_json::from_slice(&serde_json::to_vec(&claims).unwrap()).unwrap();
    assert_eq!(RING.verify_compact(&jws, typ), Some(signed));
    assert_eq!(RING.verify_compact(&jws, other), None, "only as its own type");
    if let Some((at, byte)) = input.edit_at {
        let mut bytes = jws.clone().into_bytes();
        let i = usize::from(at) % bytes.len();
        bytes[i] = byte;
        if let Ok(edited) = String::from_utf8(bytes)
            && edited != jws
        {
            // An edit anywhere (header, claims, signature) is refused.
            assert_eq!(RING.verify_compact(&edited, typ), None, "{edited}");
        }
    }
});
