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
