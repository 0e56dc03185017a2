//! Mints access tokens exactly as the server does, for seeding a benchmark
//! database (bench/run --scale): prints `token<TAB>stored key` per line.
//!
//!   mint_tokens SYSTEM_SECRET PREFIX COUNT
//!
//! The rows bench/lib/seed.sql makes from these are real tokens: the server
//! accepts the printed tokens (tag under the secret's token key, the
//! time-ordered lookup key).

use oneauth_core::{Clock as _, SystemClock};
use oneauth_crypto::{SystemKeys, TokenKind, TokenMinter};
use std::io::Write as _;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [secret, prefix, count] = args.as_slice() else {
        eprintln!("usage: mint_tokens SYSTEM_SECRET PREFIX COUNT");
        std::process::exit(2);
    };
    let count: u64 = count.parse().expect("COUNT is a number");
    let minter = TokenMinter::new(SystemKeys::derive(secret.as_bytes()).token_tag);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    for _ in 0..count {
        let (token, hash) = minter.mint(TokenKind::AccessToken, prefix, SystemClock.now());
        writeln!(out, "{token}\t{}", hash.0)?;
    }
    out.flush()
}
