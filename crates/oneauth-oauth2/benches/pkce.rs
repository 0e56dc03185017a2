//! Micro-benchmark of PKCE S256 verification (RFC 7636 §4.6), as done on
//! every authorization-code exchange. `cargo bench -p oneauth-oauth2`.

use criterion::{Criterion, criterion_group, criterion_main};
use oneauth_oauth2::pkce;
use std::hint::black_box;

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn pkce_verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("pkce");
    g.bench_function("verify_s256", |b| {
        b.iter(|| pkce::verify(black_box(VERIFIER), black_box(CHALLENGE)))
    });
    let long = "a".repeat(128);
    g.bench_function("verify_s256_128_chars_wrong", |b| {
        b.iter(|| pkce::verify(black_box(&long), black_box(CHALLENGE)))
    });
    g.bench_function("check_challenge", |b| {
        b.iter(|| pkce::check_challenge(black_box(CHALLENGE), black_box(Some("S256"))))
    });
    g.finish();
}

criterion_group!(benches, pkce_verify);
criterion_main!(benches);
