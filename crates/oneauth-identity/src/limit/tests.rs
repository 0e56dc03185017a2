use super::*;
use oneauth_core::config::Codes as CodesConfig;
use oneauth_core::config::LimitBackend;

async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("l.db").display());
    (dir, oneauth_store::open(&url).await.unwrap())
}

/// In-memory limits over `store` (where identities are looked up).
fn limits_on(store: Arc<dyn Store>, per_identifier: u32, per_ip: u32) -> Limits {
    let cfg = LimitsConfig {
        backend: LimitBackend::Memory,
        login_per_identifier_per_minute: per_identifier,
        login_per_ip_per_minute: per_ip,
        token_per_ip_per_minute: 0,
        token_per_client_per_minute: 0,
    };
    Limits::new(&cfg, store)
}

async fn limits(per_identifier: u32) -> (tempfile::TempDir, Limits) {
    let (dir, store) = store().await;
    (dir, limits_on(store, per_identifier, 0))
}

fn limited<T: std::fmt::Debug>(r: Result<T, Error>) -> u64 {
    match r {
        Err(Error::RateLimited { retry_after_secs }) => retry_after_secs,
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[test]
fn identifiers_count_as_lookups_read_them() {
    let one = identifier_key("+8613800138000");
    for variant in [
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "0086 13800138000",
        " +86 (138) 0013.8000 ",
    ] {
        assert_eq!(identifier_key(variant), one, "{variant}");
    }
    assert_eq!(identifier_key(" Alice@Example.COM"), "alice@example.com");
    assert_eq!(identifier_key("Alice_1"), "alice_1");
    assert_eq!(identifier_key(" Not An Identifier "), "not an identifier");
}

#[tokio::test]
async fn spellings_of_a_phone_and_an_accounts_identifiers_share_one_budget() {
    let (_dir, store) = store().await;
    let identity = oneauth_store::Identity {
        id: "id-1".into(),
        traits: oneauth_store::Traits {
            email: Some("a@example.com".into()),
            phone: Some("+8613800138000".into()),
            ..Default::default()
        },
        state: oneauth_store::IdentityState::Active,
        password_hash: None,
        created_at: 0,
        updated_at: 0,
    };
    store.insert_identity(&identity).await.unwrap();
    let l = limits_on(store, 3, 0);
    let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
    for who in ["+86 138 0013 8000", "0086-138-0013-8000"] {
        l.login_attempt(None, who, t).await.unwrap();
    }
    l.login_attempt(None, "A@example.com", t).await.unwrap();
    limited(l.login_attempt(None, "+86 13800138000", t).await);
    limited(l.login_attempt(None, "a@example.com", t).await);
    // A phone no account has: its spellings share a budget of their own.
    for _ in 0..3 {
        l.login_attempt(None, "+86 139 0000 0000", t).await.unwrap();
    }
    limited(l.login_attempt(None, "0086 13900000000", t).await);
}

#[tokio::test]
async fn addresses_of_one_ipv6_64_share_a_budget() {
    let (_dir, store) = store().await;
    let l = limits_on(store, 0, 2);
    let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
    let ip = |s: &str| Some(s.parse().unwrap());
    l.login_attempt(ip("2001:db8::1"), "a@example.com", t)
        .await
        .unwrap();
    l.login_attempt(ip("2001:db8::ffff:2"), "b@example.com", t)
        .await
        .unwrap();
    limited(l.login_attempt(ip("2001:db8::3"), "c@example.com", t).await);
    l.login_attempt(ip("2001:db8:0:1::1"), "c@example.com", t)
        .await
        .expect("the next /64 is someone else");
}

#[test]
fn sends_wait_for_the_cool_down_and_cap_per_hour() {
    let rule = SendRule {
        cooldown_secs: 60,
        per_hour: 3,
    };
    let c = rule.cool_down(None, 1000).unwrap();
    assert_eq!(limited(rule.cool_down(Some(&c), 1030)), 30);
    rule.cool_down(Some(&c), 1060).unwrap();
    let b = rule.spend(None, 1000).unwrap();
    let b = rule.spend(Some(&b), 1060).unwrap();
    let b = rule.spend(Some(&b), 1120).unwrap();
    assert_eq!(
        limited(rule.spend(Some(&b), 1180)),
        3600 - 180,
        "three in the hour from the first"
    );
    let b = rule.spend(Some(&b), 4600).unwrap();
    assert_eq!((b.count, b.window_start), (1, 4600), "a new hour");
}

#[test]
fn guess_lock_outs_double_up_to_the_longest() {
    let rule = GuessRule {
        per_run: 2,
        base_secs: 60,
        max_secs: 200,
        memory_secs: 10_000,
    };
    let mut b = rule.charge(None, 0).unwrap();
    let mut t = 0;
    let mut locks = Vec::new();
    for _ in 0..7 {
        b = rule.charge(Some(&b), t).unwrap();
        locks.push(b.locked_until - t);
        // Locked, even for the right code, until the lock-out ends.
        assert_eq!(
            limited(rule.charge(Some(&b), t)),
            (b.locked_until - t) as u64
        );
        assert_eq!(limited(rule.charge(Some(&b), b.locked_until - 1)), 1);
        t = b.locked_until;
        b = rule.charge(Some(&b), t).unwrap();
    }
    assert_eq!(locks, [60, 120, 200, 200, 200, 200, 200]);
    // Remembered from the first guess for `memory_secs`, then forgotten.
    let fresh = rule.charge(Some(&b), 10_000).unwrap();
    assert_eq!((fresh.count, fresh.locked_until), (1, 0));
}

#[test]
fn a_right_guess_is_refunded_alone() {
    let rule = GuessRule {
        per_run: 3,
        base_secs: 60,
        max_secs: 3600,
        memory_secs: 86_400,
    };
    let one = rule.charge(None, 0).unwrap();
    let two = rule.charge(Some(&one), 1).unwrap();
    let three = rule.charge(Some(&two), 2).unwrap();
    assert_eq!(three.locked_until, 62);
    // The third was right: its charge and the lock-out it set go; the
    // two wrong ones stay, so the next wrong guess locks out again.
    let refunded = rule.refund(Some(&three), &three);
    assert_eq!((refunded.count, refunded.locked_until), (2, 0));
    let again = rule.charge(Some(&refunded), 3).unwrap();
    assert_eq!(again.locked_until, 63);
    // A refund after the memory moved on takes nothing back.
    let later = rule.charge(Some(&again), 90_000).unwrap();
    assert_eq!(rule.refund(Some(&later), &three), later);
}

/// The figure in [`GuessRule`]'s documentation, and the bound it keeps:
/// a month of guessing at one address stays below a 0.1 % chance of
/// hitting a six-digit code.
#[test]
fn a_month_of_guessing_stays_below_one_in_a_thousand() {
    let rule = GuessRule::from_config(&CodesConfig::default());
    assert_eq!(rule.max_guesses(34 * 3600), 55);
    let month = rule.max_guesses(30 * 86_400);
    assert_eq!(month, 385);
    assert!((month as f64) * 1e-6 < 1e-3);
    // Without the lock-outs' growth it would not hold.
    let flat = GuessRule {
        max_secs: rule.base_secs,
        ..rule
    };
    assert!(flat.max_guesses(30 * 86_400) > 1000);
}

#[tokio::test]
async fn budgets_in_memory_are_a_compare_and_swap() {
    let (_dir, l) = limits(0).await;
    let spend = |rule: SendRule, now| {
        let l = &l;
        async move {
            l.budgets()
                .spend("b", "s", |b| Ok((rule.cool_down(b, now)?, ())))
                .await
        }
    };
    let rule = SendRule {
        cooldown_secs: 10,
        per_hour: 0,
    };
    spend(rule, 0).await.unwrap();
    assert_eq!(limited(spend(rule, 5).await), 5);
    spend(rule, 10).await.unwrap();
    l.forget_before(OffsetDateTime::from_unix_timestamp(10_000).unwrap());
    spend(rule, 10_001).await.unwrap();
}

#[tokio::test]
async fn identifier_limit_ignores_case_and_answers_retry_after() {
    let (_dir, l) = limits(2).await;
    let t = OffsetDateTime::from_unix_timestamp(1_000_020).unwrap();
    assert!(l.login_attempt(None, "a@example.com", t).await.is_ok());
    assert!(l.login_attempt(None, " A@Example.com", t).await.is_ok());
    match l.login_attempt(None, "a@example.com", t).await {
        // 1_000_020 is a multiple of 60: a full window lies ahead.
        Err(Error::RateLimited { retry_after_secs }) => {
            assert_eq!(retry_after_secs, 60)
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    assert!(
        l.login_attempt(None, "b@example.com", t).await.is_ok(),
        "other identifiers are not affected"
    );
    let next_window = t + time::Duration::seconds(60);
    assert!(
        l.login_attempt(None, "a@example.com", next_window)
            .await
            .is_ok()
    );
}
