use super::*;
use std::time::Duration;

#[test]
fn ipv6_counts_by_its_64_and_ipv4_by_address() {
    let k = |s: &str| ip_key(s.parse().unwrap());
    assert_eq!(k("2001:db8:1:2::1"), "2001:db8:1:2::/64");
    assert_eq!(k("2001:db8:1:2:ffff:ab:cd:ef"), k("2001:db8:1:2::1"));
    assert_ne!(k("2001:db8:1:3::1"), k("2001:db8:1:2::1"));
    assert_eq!(k("198.51.100.7"), "198.51.100.7");
    assert_ne!(k("198.51.100.7"), k("198.51.100.8"));
    assert_eq!(k("::ffff:198.51.100.7"), "198.51.100.7", "mapped is IPv4");
}

/// Two nodes' buffered counters over one database add up.
#[tokio::test]
async fn buffered_counters_on_two_nodes_add_up_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = oneauth_store::open(&format!("sqlite://{}", dir.path().join("l.db").display()))
        .await
        .unwrap();
    let a = BufferedCounter::new(store.clone(), Duration::ZERO);
    let b = BufferedCounter::new(store.clone(), Duration::ZERO);
    assert_eq!(a.hit("k", 60).await.unwrap(), 1);
    assert_eq!(a.hit("k", 60).await.unwrap(), 2);
    assert_eq!(b.hit("k", 60).await.unwrap(), 3, "b sees a's hits");
    assert_eq!(a.hit("k", 60).await.unwrap(), 4, "and a sees b's");
    assert_eq!(
        a.hit("k", 120).await.unwrap(),
        1,
        "a new window starts over"
    );

    // Between flushes a node counts locally, on top of what it knew.
    let slow = BufferedCounter::new(store, Duration::from_secs(3600));
    assert_eq!(slow.hit("k", 120).await.unwrap(), 1);
    assert_eq!(slow.hit("k", 120).await.unwrap(), 2);
}

/// Each class counts apart, against its own setting; 0 turns one off.
#[tokio::test]
async fn classes_count_apart_by_their_own_settings() {
    let dir = tempfile::tempdir().unwrap();
    let store = oneauth_store::open(&format!("sqlite://{}", dir.path().join("l.db").display()))
        .await
        .unwrap();
    let cfg = LimitsConfig {
        backend: LimitBackend::Memory,
        login_per_ip_per_minute: 1,
        login_per_identifier_per_minute: 0,
        token_per_ip_per_minute: 2,
        token_per_client_per_minute: 1,
    };
    let l = Limiter::new(&cfg, store);
    let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
    l.hit(Class::LoginIp, "198.51.100.7", t).await.unwrap();
    assert!(l.hit(Class::LoginIp, "198.51.100.7", t).await.is_err());
    // The same subject in another class has its own count.
    l.hit(Class::TokenIp, "198.51.100.7", t).await.unwrap();
    l.hit(Class::TokenIp, "198.51.100.7", t).await.unwrap();
    match l.hit(Class::TokenIp, "198.51.100.7", t).await {
        Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 60),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    l.hit(Class::TokenClient, "app", t).await.unwrap();
    assert!(l.hit(Class::TokenClient, "app", t).await.is_err());
    assert!(!l.enabled(Class::LoginIdentifier));
    for _ in 0..5 {
        l.hit(Class::LoginIdentifier, "a@example.com", t)
            .await
            .unwrap();
    }
}
