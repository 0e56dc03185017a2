//! Micro-benchmarks of the token path's crypto (issue 6): opaque token
//! minting and checking, client-secret verification, id_token signing per
//! algorithm with cached keys, and argon2id at the configured parameters.
//! `cargo bench -p oneauth-crypto`; numbers go to bench/README.md.

use aws_lc_rs::hmac;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use oneauth_core::config::{Password, SigningAlg};
use oneauth_core::{Clock as _, SystemClock};
use oneauth_crypto::{
    KeyMaterial, PasswordHasher, SigningKey, SystemKeys, TokenHash, TokenKind, TokenMinter,
};
use std::hint::black_box;
use std::time::Duration;

const SECRET: &[u8] = b"bench-system-secret-0123456789abcdefghij";

fn opaque_tokens(c: &mut Criterion) {
    let minter = TokenMinter::new(hmac::Key::new(hmac::HMAC_SHA256, b"token-tag-key"));
    let now = SystemClock.now();
    let mut g = c.benchmark_group("opaque_token");
    g.bench_function("mint", |b| {
        b.iter(|| minter.mint(black_box(TokenKind::AccessToken), black_box("ory_at_"), now))
    });
    let (token, _) = minter.mint(TokenKind::AccessToken, "ory_at_", now);
    g.bench_function("check", |b| {
        b.iter(|| minter.check(TokenKind::AccessToken, "ory_at_", black_box(&token)))
    });
    let mut forged = token.clone();
    forged.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
    g.bench_function("check_forged", |b| {
        b.iter(|| minter.check(TokenKind::AccessToken, "ory_at_", black_box(&forged)))
    });
    g.bench_function("hash_for_lookup", |b| {
        b.iter(|| TokenHash::of(black_box(&token)))
    });
    g.finish();
}

fn client_secret(c: &mut Criterion) {
    let keys = SystemKeys::derive(SECRET);
    let stored = keys.hash_client_secret("bench-service-secret-0123456789");
    let mut g = c.benchmark_group("client_secret");
    g.bench_function("verify_ok", |b| {
        b.iter(|| keys.verify_client_secret(black_box("bench-service-secret-0123456789"), &stored))
    });
    g.bench_function("verify_wrong", |b| {
        b.iter(|| keys.verify_client_secret(black_box("bench-service-secret-0123456780"), &stored))
    });
    g.bench_function("derive_system_keys", |b| {
        b.iter(|| SystemKeys::derive(black_box(SECRET)))
    });
    g.finish();
}

/// Claims shaped like the id_tokens OneAuth issues.
fn id_token_claims() -> serde_json::Value {
    serde_json::json!({
        "iss": "http://127.0.0.1:8080",
        "sub": "0190f5e4-7a3b-7c2d-9e1f-123456789abc",
        "aud": ["web-app"],
        "exp": 1_800_000_000_i64,
        "iat": 1_799_996_400_i64,
        "jti": "5f0c6a7e-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
        "auth_time": 1_799_996_000_i64,
        "nonce": "n-0123456789abcdef",
        "at_hash": "x4k1Qc3TQfH8r9bS0fQ2Xw",
        "sid": "0190f5e4-7a3b-7c2d-9e1f-abcdefabcdef",
        "amr": ["pwd"],
        "email": "user0@example.com",
        "email_verified": true,
        "name": "User 0"
    })
}

fn id_token_signing(c: &mut Criterion) {
    let claims = id_token_claims();
    let mut g = c.benchmark_group("id_token_sign");
    for alg in SigningAlg::ALL {
        let der = KeyMaterial::generate(alg).expect("key generation");
        let key = SigningKey::load("bench".into(), alg, 0, &der).expect("key loads");
        g.bench_with_input(BenchmarkId::from_parameter(alg.as_str()), &key, |b, key| {
            b.iter(|| key.sign_compact("JWT", black_box(&claims)).expect("signs"))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("id_token_claims_only");
    g.bench_function("serialize_and_b64", |b| {
        b.iter(|| oneauth_crypto::b64url(serde_json::to_vec(black_box(&claims)).expect("json")))
    });
    g.finish();
}

/// argon2id at the configured parameters: one hash at a time (latency),
/// then as many at once as there are hashing threads (the login limit of
/// this machine: logins/s at most = elements/s of `verify_all_threads`).
fn argon2id(c: &mut Criterion) {
    let cfg = Password::default();
    let hasher = PasswordHasher::new(&cfg).expect("argon2 parameters");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stored = rt
        .block_on(hasher.hash("correct horse battery staple"))
        .expect("hash");
    let name = format!(
        "m={},t={},p={}",
        cfg.argon2_memory_kib, cfg.argon2_iterations, cfg.argon2_parallelism
    );
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.bench_function(BenchmarkId::new("verify", &name), |b| {
        b.iter(|| {
            rt.block_on(hasher.verify(black_box("correct horse battery staple"), Some(&stored)))
                .expect("verifies")
        })
    });
    g.bench_function(BenchmarkId::new("hash", &name), |b| {
        b.iter(|| {
            rt.block_on(hasher.hash(black_box("correct horse battery staple")))
                .expect("hashes")
        })
    });
    let threads = cfg.hashing_threads();
    g.throughput(Throughput::Elements(threads as u64));
    g.bench_function(
        BenchmarkId::new(format!("verify_all_threads/{threads}"), &name),
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..threads {
                        let (hasher, stored) = (hasher.clone(), stored.clone());
                        set.spawn(async move {
                            hasher
                                .verify("correct horse battery staple", Some(&stored))
                                .await
                        });
                    }
                    set.join_all().await
                })
            })
        },
    );
    g.finish();
}

criterion_group!(
    benches,
    opaque_tokens,
    client_secret,
    id_token_signing,
    argon2id
);
criterion_main!(benches);
