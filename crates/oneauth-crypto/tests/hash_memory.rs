//! A hashing thread gives its argon2 buffer back to the system when hashes
//! stop coming (own process: RSS is per process, so no other test may run
//! beside this one).

use oneauth_core::config::Password;
use oneauth_crypto::PasswordHasher;
use std::time::{Duration, Instant};

fn rss_anon_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status")
}

#[tokio::test]
async fn the_argon2_buffer_is_released_after_an_idle_spell() {
    let cfg = Password {
        max_concurrent_hashes: 1,
        ..Password::default()
    };
    let memory_kib = u64::from(cfg.argon2_memory_kib);
    let hasher = PasswordHasher::new(&cfg).unwrap();
    let mut stored = None;
    // Twice: after the first release malloc's sliding threshold has moved,
    // and a buffer from its arenas would stay resident the second time.
    for round in 0..2 {
        let before = rss_anon_kib();
        let stored = match &stored {
            Some(s) => s,
            None => stored.insert(hasher.hash("correct horse battery staple").await.unwrap()),
        };
        // Back to back: the buffer is reused, not allocated again.
        for _ in 0..2 {
            assert!(
                hasher
                    .verify("correct horse battery staple", Some(stored))
                    .await
                    .unwrap()
            );
        }
        let busy = rss_anon_kib();
        assert!(
            busy >= before + memory_kib * 9 / 10,
            "round {round}: the hash's blocks should be resident: {before} -> {busy} KiB"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = rss_anon_kib();
            if now + memory_kib * 9 / 10 <= busy {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the buffer was not released: {busy} KiB while hashing, {now} KiB 10 s later"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
