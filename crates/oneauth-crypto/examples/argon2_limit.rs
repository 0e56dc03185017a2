//! The password-login ceiling argon2 sets on this machine (bench/run): the
//! server's own hasher, with one hashing thread per core and the default
//! parameters, verifying a password over and over for SECONDS; prints
//! `{"threads":…,"verifies":…,"seconds":…,"rate":…,"verify_ms":…}`.
//!
//!   argon2_limit [SECONDS]
//!
//! Nothing else runs, so `rate` is what argon2 alone allows: a login flow
//! also renders pages, writes sessions and signs an id_token.

use oneauth_core::config::Password;
use oneauth_crypto::PasswordHasher;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let seconds: f64 = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 5.0,
    };
    let cores = std::thread::available_parallelism()?.get();
    let cfg = Password {
        max_concurrent_hashes: cores,
        ..Password::default()
    };
    let hasher = PasswordHasher::new(&cfg)?;
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(async {
            let stored = hasher.hash("correct horse battery staple").await?;
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let start = Instant::now();
            // Twice as many verifies in flight as threads: none ever idles.
            let workers = (0..2 * cores).map(|_| {
                let (hasher, stored) = (hasher.clone(), stored.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        anyhow::ensure!(
                            hasher
                                .verify("correct horse battery staple", Some(&stored))
                                .await?,
                            "the password did not verify"
                        );
                        n += 1;
                    }
                    Ok(n)
                })
            });
            let mut verifies = 0;
            for w in workers.collect::<Vec<_>>() {
                verifies += w.await??;
            }
            let elapsed = start.elapsed().as_secs_f64();
            let rate = verifies as f64 / elapsed;
            println!(
                "{{\"threads\":{cores},\"verifies\":{verifies},\"seconds\":{elapsed:.3},\"rate\":{rate:.1},\"verify_ms\":{:.2}}}",
                1000.0 * cores as f64 / rate
            );
            Ok(())
        })
}
