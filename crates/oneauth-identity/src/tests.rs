use super::*;
use oneauth_core::config::Config;
use oneauth_store::SeenFrom;

struct Fixture {
    ids: Identities,
    store: Arc<dyn Store>,
    keys: Arc<SystemKeys>,
    _dir: tempfile::TempDir,
}

const PW: &str = "correct horse battery staple";

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = oneauth_store::open(&url).await.unwrap();
    let keys = Arc::new(SystemKeys::derive(b"test secret test secret test secret"));
    let minter = Arc::new(TokenMinter::new(keys.token_tag.clone()));
    let mut config = Config::default();
    // Cheap hashes: these tests are about flows, not argon2.
    config.password.argon2_memory_kib = 64;
    config.password.argon2_iterations = 1;
    let ids = Identities::new(store.clone(), minter, keys.clone(), &config).unwrap();
    Fixture {
        ids,
        store,
        keys,
        _dir: dir,
    }
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
}

impl Fixture {
    /// The queued messages (recipient, template, body), oldest first, as
    /// the delivery task would see them.
    async fn outbox(&self) -> Vec<(String, String, String)> {
        let msgs = self
            .store
            .claim_messages(i64::MAX / 2, i64::MAX, 100)
            .await
            .unwrap();
        msgs.into_iter()
            .map(|m| {
                let plain = self.keys.open(m.id.as_bytes(), &m.sealed).unwrap();
                let v: serde_json::Value = serde_json::from_slice(&plain).unwrap();
                (
                    m.recipient,
                    m.template,
                    v["body"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn sent_code(&self) -> String {
        let out = self.outbox().await;
        let body = &out.last().expect("a message was queued").2;
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a code in the message")
            .to_owned()
    }
}

fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn unknown_login_method_in_config_fails_start_up() {
    let f = fixture().await;
    let mut config = Config::default();
    config.login.methods = vec!["password".into(), "carrier_pigeon".into()];
    let minter = Arc::new(TokenMinter::new(f.keys.token_tag.clone()));
    assert!(Identities::new(f.store.clone(), minter, f.keys.clone(), &config).is_err());
}

#[tokio::test]
async fn code_settings_that_allow_a_thousand_guesses_a_month_fail_start_up() {
    let f = fixture().await;
    let mut config = Config::default();
    // Lock-outs that never grow: 5 guesses a minute, for ever.
    config.codes.lockout_max_secs = config.codes.lockout_base_secs;
    let minter = Arc::new(TokenMinter::new(f.keys.token_tag.clone()));
    let err = Identities::new(f.store.clone(), minter, f.keys.clone(), &config)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("code guesses a month"), "{err}");
}

#[tokio::test]
async fn email_code_login_is_single_use() {
    let f = fixture().await;
    f.ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let begin = fields(&[("identifier", "Alice@Example.com")]);
    f.ids
        .begin_login("email_code", &begin, Locale::En, at(0))
        .await
        .unwrap();
    let code = f.sent_code().await;
    let submit = fields(&[("identifier", "alice@example.com"), ("code", &code)]);
    let (identity, amr) = f
        .ids
        .authenticate("email_code", &submit, at(5))
        .await
        .unwrap();
    assert_eq!(amr, "otp");
    assert!(
        identity.traits.email_verified,
        "the code proves the address"
    );
    assert!(matches!(
        f.ids.authenticate("email_code", &submit, at(6)).await,
        Err(Error::InvalidCode { .. })
    ));
}

#[tokio::test]
async fn sms_code_login_normalises_the_phone_and_limits_attempts() {
    let f = fixture().await;
    let reg = Registration {
        phone: Some("+86 138 0013 8000".into()),
        password: PW.into(),
        ..Default::default()
    };
    f.ids.register(reg, Locale::ZhCn, at(0)).await.unwrap();
    let out = f.outbox().await;
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "+8613800138000");
    assert!(out[0].2.contains("验证码"), "Chinese SMS: {}", out[0].2);

    f.ids
        .begin_login(
            "sms_code",
            &fields(&[("identifier", "0086-138-0013-8000")]),
            Locale::En,
            at(100),
        )
        .await
        .unwrap();
    let code = f.sent_code().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = f
            .ids
            .authenticate(
                "sms_code",
                &fields(&[("identifier", "+8613800138000"), ("code", wrong)]),
                at(101),
            )
            .await;
        assert!(matches!(r, Err(Error::InvalidCode { .. })));
    }
    // The right code after five wrong guesses: the address is locked out
    // for a minute, and then the code has no guesses left.
    let right = fields(&[("identifier", "+8613800138000"), ("code", &code)]);
    let r = f.ids.authenticate("sms_code", &right, at(102)).await;
    assert!(matches!(r, Err(Error::RateLimited { .. })), "{r:?}");
    let r = f.ids.authenticate("sms_code", &right, at(161)).await;
    assert!(matches!(r, Err(Error::InvalidCode { .. })), "{r:?}");
}

#[tokio::test]
async fn codes_expire_and_resends_wait_for_the_cool_down() {
    let f = fixture().await;
    f.ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let begin = fields(&[("identifier", "alice@example.com")]);
    f.ids
        .begin_login("email_code", &begin, Locale::En, at(0))
        .await
        .unwrap();
    match f
        .ids
        .begin_login("email_code", &begin, Locale::En, at(30))
        .await
    {
        Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 30),
        other => panic!("expected the cool-down, got {other:?}"),
    }
    let code = f.sent_code().await;
    let submit = fields(&[("identifier", "alice@example.com"), ("code", &code)]);
    assert!(
        f.ids
            .authenticate("email_code", &submit, at(601))
            .await
            .is_err(),
        "expired"
    );
    // A new code replaces the old one.
    f.ids
        .begin_login("email_code", &begin, Locale::En, at(700))
        .await
        .unwrap();
    let newer = f.sent_code().await;
    if newer != code {
        assert!(
            f.ids
                .authenticate("email_code", &submit, at(701))
                .await
                .is_err()
        );
    }
    let submit = fields(&[("identifier", "alice@example.com"), ("code", &newer)]);
    assert!(
        f.ids
            .authenticate("email_code", &submit, at(702))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_message() {
    let f = fixture().await;
    let begin = fields(&[("identifier", "nobody@example.com")]);
    f.ids
        .begin_login("email_code", &begin, Locale::En, at(0))
        .await
        .unwrap();
    assert!(f.outbox().await.is_empty());
    assert!(
        matches!(
            f.ids
                .begin_login("email_code", &begin, Locale::En, at(1))
                .await,
            Err(Error::RateLimited { .. })
        ),
        "the cool-down applies as for a real account"
    );
    let addr = Address::email("nobody@example.com").unwrap();
    f.ids
        .send_recovery_code(&addr, Locale::En, at(60))
        .await
        .unwrap();
    f.ids
        .send_verification_code(&addr, Locale::En, at(120))
        .await
        .unwrap();
    assert!(f.outbox().await.is_empty());
}

#[tokio::test]
async fn registration_answers_alike_for_taken_addresses_and_verifies() {
    let f = fixture().await;
    let reg = |email: &str| Registration {
        email: Some(email.into()),
        username: Some("Alice".into()),
        name: Some(" Alice ".into()),
        password: PW.into(),
        verify: Some(VerifyMethod::Email),
        ..Default::default()
    };
    let first = f
        .ids
        .register(reg("alice@example.com"), Locale::En, at(0))
        .await
        .unwrap();
    let code = f.sent_code().await;
    let again = Registration {
        username: None,
        ..reg("ALICE@example.com")
    };
    let second = f.ids.register(again, Locale::En, at(100)).await.unwrap();
    assert_eq!(
        first.verify, second.verify,
        "same answer for a taken address"
    );
    assert_eq!(first.proof.len(), second.proof.len(), "a proof either way");
    let notice = f.outbox().await;
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].1, "registration_exists");
    assert!(
        matches!(
            f.ids
                .register(reg("bob@example.com"), Locale::En, at(200))
                .await,
            Err(Error::AlreadyExists(_))
        ),
        "usernames are public: a taken one is said"
    );

    let addr = Address::email("alice@example.com").unwrap();
    let identity = f.ids.verify(&addr, &code, None, at(300)).await.unwrap();
    assert!(identity.traits.email_verified);
    assert_eq!(identity.traits.username.as_deref(), Some("alice"));
    assert_eq!(identity.traits.name.as_deref(), Some("Alice"));
    assert!(matches!(
        f.ids.verify(&addr, &code, None, at(301)).await,
        Err(Error::InvalidCode { .. })
    ));
}

#[tokio::test]
async fn weak_passwords_are_refused_everywhere() {
    let f = fixture().await;
    let reg = Registration {
        email: Some("a@example.com".into()),
        password: "password1".into(),
        ..Default::default()
    };
    assert!(matches!(
        f.ids.register(reg, Locale::En, at(0)).await,
        Err(Error::WeakPassword(_))
    ));
    assert!(matches!(
        f.ids
            .create("a@example.com", Some("short"), None, at(0))
            .await,
        Err(Error::WeakPassword(_))
    ));
    assert!(f.outbox().await.is_empty());
}

#[tokio::test]
async fn recovery_needs_a_verified_address_and_ends_every_session() {
    let f = fixture().await;
    let identity = f
        .ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let addr = Address::email("alice@example.com").unwrap();
    // A minute before the rest: every message to an address, whatever
    // its kind, waits for the cool-down of the one before.
    f.ids
        .send_recovery_code(&addr, Locale::En, at(-60))
        .await
        .unwrap();
    assert!(f.outbox().await.is_empty(), "unverified: nothing is sent");
    f.ids
        .send_verification_code(&addr, Locale::En, at(0))
        .await
        .unwrap();
    let code = f.sent_code().await;
    f.ids.verify(&addr, &code, None, at(1)).await.unwrap();

    let (_, s1) = f
        .ids
        .start_session(&identity, &["pwd"], &SeenFrom::default(), at(2))
        .await
        .unwrap();
    f.ids
        .send_recovery_code(&addr, Locale::En, at(100))
        .await
        .unwrap();
    let code = f.sent_code().await;
    assert!(matches!(
        f.ids.recover(&addr, &code, "12345678", at(101)).await,
        Err(Error::WeakPassword(_))
    ));
    f.ids
        .recover(&addr, &code, "a new and long passphrase", at(102))
        .await
        .unwrap();
    assert!(
        f.store
            .list_sessions(&identity.id, 103)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .get_session(&s1.token_hash, 103)
            .await
            .unwrap()
            .is_none()
    );
    let login = fields(&[
        ("identifier", "alice@example.com"),
        ("password", "a new and long passphrase"),
    ]);
    assert!(
        f.ids
            .authenticate("password", &login, at(104))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn password_change_ends_the_other_sessions_only() {
    let f = fixture().await;
    let identity = f
        .ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let (_, here) = f
        .ids
        .start_session(&identity, &["pwd"], &SeenFrom::default(), at(1))
        .await
        .unwrap();
    let (_, there) = f
        .ids
        .start_session(&identity, &["pwd"], &SeenFrom::default(), at(2))
        .await
        .unwrap();
    assert!(matches!(
        f.ids
            .change_password(&here, Some("wrong"), "another long passphrase", at(3))
            .await,
        Err(Error::InvalidCredentials)
    ));
    f.ids
        .change_password(&here, Some(PW), "another long passphrase", at(3))
        .await
        .unwrap();
    let left = f.ids.sessions(&here, at(4)).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
    assert!(
        f.store
            .get_session(&there.token_hash, 4)
            .await
            .unwrap()
            .is_none()
    );
    // Username login with the new password; the profile can take a username.
    let updated = f
        .ids
        .update_profile(
            &identity.id,
            Some("Alice".into()),
            Some("Alice.B".into()),
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(updated.traits.username.as_deref(), Some("alice.b"));
    let login = fields(&[
        ("identifier", "alice.b"),
        ("password", "another long passphrase"),
    ]);
    assert!(f.ids.authenticate("password", &login, at(6)).await.is_ok());
    // Someone else's session id is not found.
    assert!(matches!(
        f.ids.end_own_session(&here, "not-mine", at(7)).await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn a_login_rotates_the_session_and_others_can_be_ended_at_once() {
    let f = fixture().await;
    let identity = f
        .ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let (old_token, old) = f
        .ids
        .log_in(None, &identity, &["pwd"], &SeenFrom::default(), at(1))
        .await
        .unwrap();
    let (token, new) = f
        .ids
        .log_in(
            Some(&old_token),
            &identity,
            &["otp"],
            &SeenFrom::default(),
            at(2),
        )
        .await
        .unwrap();
    assert_ne!(old.id, new.id, "a fresh session id at every login");
    assert!(f.ids.session(&old_token, at(3)).await.unwrap().is_none());
    assert!(f.ids.session(&token, at(3)).await.unwrap().is_some());
    // A cookie that is not a live session is no obstacle.
    f.ids
        .log_in(
            Some("ory_st_garbage"),
            &identity,
            &["pwd"],
            &SeenFrom::default(),
            at(4),
        )
        .await
        .unwrap();
    f.ids
        .start_session(&identity, &["pwd"], &SeenFrom::default(), at(5))
        .await
        .unwrap();
    assert_eq!(f.ids.end_other_sessions(&new, at(6)).await.unwrap(), 2);
    let left = f.ids.sessions(&new, at(7)).await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].current);
}

#[test]
fn registration_forms_get_what_they_asked_for() {
    let reg = Registration {
        email: Some("bob@example.com".into()),
        username: Some("  ".into()),
        password: PW.into(),
        ..Registration::default()
    };
    let policy = PasswordPolicy { min_chars: 8 };
    let problems = |rules, confirmation| reg.problems(rules, confirmation, &policy);
    let rules = FormRules {
        require_username: true,
        ..FormRules::default()
    };
    assert!(matches!(
        problems(rules, None).first(),
        Some(Invalid {
            field: Field::Username,
            problem: Problem::Missing,
            error: Error::InvalidRequest(_)
        })
    ));
    assert!(problems(FormRules::default(), None).is_empty());
    let confirm = FormRules {
        confirm_password: true,
        ..FormRules::default()
    };
    assert!(!problems(confirm, None).is_empty(), "confirmation missing");
    assert!(!problems(confirm, Some("typo")).is_empty());
    assert!(problems(confirm, Some(PW)).is_empty());
    assert!(
        !problems(FormRules::default(), Some("typo")).is_empty(),
        "a confirmation given is checked even when not required"
    );
    let named = FormRules {
        require_name: true,
        ..FormRules::default()
    };
    assert!(!problems(named, None).is_empty());
}

/// Every field's problem at once, for the page; the API answers the first,
/// the form's own demands before the identifiers and the password.
#[test]
fn registration_problems_name_each_field() {
    let policy = PasswordPolicy { min_chars: 8 };
    let reg = Registration {
        email: Some("not an email".into()),
        phone: Some("12".into()),
        username: Some("x".into()),
        name: None,
        password: "password".into(),
        verify: Some(VerifyMethod::Both),
    };
    let rules = FormRules {
        confirm_password: true,
        require_username: true,
        require_name: true,
    };
    let found: Vec<(Field, Problem)> = reg
        .problems(rules, Some("other"), &policy)
        .into_iter()
        .map(|i| (i.field, i.problem))
        .collect();
    assert_eq!(
        found,
        [
            (Field::Name, Problem::Missing),
            (Field::Confirmation, Problem::Differs),
            (Field::Email, Problem::Malformed),
            (Field::Phone, Problem::Malformed),
            (Field::Username, Problem::Malformed),
            (Field::Password, Problem::Weak(policy::Weakness::Common)),
        ]
    );
    // Addresses the verification needs, and a password that is one of them.
    let reg = Registration {
        email: None,
        phone: Some(" +86 138 0013 8000 ".into()),
        password: "+8613800138000".into(),
        verify: Some(VerifyMethod::Both),
        ..Registration::default()
    };
    let first = reg
        .problems(FormRules::default(), None, &policy)
        .into_iter()
        .map(|i| (i.field, i.problem, i.error.to_string()))
        .collect::<Vec<_>>();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].0, Field::Email);
    assert_eq!(first[0].1, Problem::Missing);
    assert!(
        first[0]
            .2
            .contains("An email address and a phone number are needed.")
    );
    assert_eq!(
        first[1].1,
        Problem::Weak(policy::Weakness::SameAsIdentifier)
    );
    // Without a verify method, an email or a phone will do.
    let neither = Registration {
        password: PW.into(),
        ..Registration::default()
    };
    let only = neither.problems(FormRules::default(), None, &policy);
    assert_eq!(only.len(), 1);
    assert_eq!(
        (only[0].field, only[0].problem),
        (Field::Email, Problem::Missing)
    );
}

fn retry_after<T: std::fmt::Debug>(r: Result<T>) -> u64 {
    match r {
        Err(Error::RateLimited { retry_after_secs }) => retry_after_secs,
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_codes_share_one_budget_over_every_purpose_and_lock_out_longer_each_time() {
    let f = fixture().await;
    f.ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let addr = Address::email("alice@example.com").unwrap();
    f.ids
        .send_verification_code(&addr, Locale::En, at(0))
        .await
        .unwrap();
    let code = f.sent_code().await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let login = |c: &str| fields(&[("identifier", "alice@example.com"), ("code", c)]);
    // Five wrong guesses over three purposes, at one address.
    for _ in 0..2 {
        let r = f.ids.authenticate("email_code", &login(wrong), at(1)).await;
        assert!(matches!(r, Err(Error::InvalidCode { .. })), "{r:?}");
    }
    for _ in 0..2 {
        let r = f
            .ids
            .recover(&addr, wrong, "a new and long passphrase", at(2));
        assert!(matches!(r.await, Err(Error::InvalidCode { .. })));
    }
    assert!(matches!(
        f.ids.verify(&addr, wrong, None, at(3)).await,
        Err(Error::InvalidCode { .. })
    ));
    // Locked out for a minute from the fifth: even the right code waits.
    assert_eq!(
        retry_after(f.ids.verify(&addr, &code, None, at(4)).await),
        59
    );
    assert_eq!(
        retry_after(f.ids.verify(&addr, &code, None, at(62)).await),
        1
    );
    f.ids.verify(&addr, &code, None, at(63)).await.unwrap();
    // The right code took back its own guess only: five more wrong ones
    // lock the address out twice as long.
    for _ in 0..5 {
        assert!(matches!(
            f.ids.verify(&addr, wrong, None, at(64)).await,
            Err(Error::InvalidCode { .. })
        ));
    }
    assert_eq!(
        retry_after(f.ids.verify(&addr, wrong, None, at(65)).await),
        119
    );
    let r = f
        .ids
        .authenticate("email_code", &login(wrong), at(65))
        .await;
    assert_eq!(retry_after(r), 119, "every purpose is locked out");
}

#[tokio::test]
async fn sign_ups_with_taken_and_new_addresses_spend_the_same_send_budget() {
    let f = fixture().await;
    f.ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let reg = |email: &str| Registration {
        email: Some(email.into()),
        password: PW.into(),
        ..Default::default()
    };
    let taken = f
        .ids
        .register(reg("alice@example.com"), Locale::En, at(100));
    let new = f.ids.register(reg("bob@example.com"), Locale::En, at(100));
    assert_eq!(
        taken.await.unwrap().verify.len(),
        new.await.unwrap().verify.len()
    );
    // A second sign-up at once, or a resend of the code: the same wait.
    for email in ["alice@example.com", "bob@example.com"] {
        let again = f.ids.register(reg(email), Locale::En, at(101)).await;
        assert_eq!(retry_after(again), 59, "{email}");
        let addr = Address::email(email).unwrap();
        let resend = f.ids.send_verification_code(&addr, Locale::En, at(102));
        assert_eq!(retry_after(resend.await), 58, "{email}");
    }
    let out = f.outbox().await;
    let templates: Vec<_> = out.iter().map(|m| (m.0.as_str(), m.1.as_str())).collect();
    assert_eq!(
        templates,
        [
            ("alice@example.com", "registration_exists"),
            ("bob@example.com", "verification_code")
        ]
    );
}

#[tokio::test]
async fn every_message_to_an_address_spends_one_budget() {
    let f = fixture().await;
    f.ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let reg = Registration {
        email: Some("alice@example.com".into()),
        password: PW.into(),
        ..Default::default()
    };
    // A sign-up a minute with a taken address, for half an hour: the
    // owner gets the hourly cap of notices, not thirty.
    let mut refused = 0;
    for i in 0..30 {
        if f.ids
            .register(reg.clone(), Locale::En, at(i * 61))
            .await
            .is_err()
        {
            refused += 1;
        }
    }
    assert_eq!(f.outbox().await.len(), 10);
    assert_eq!(refused, 20);
    // Codes of every kind share the cap.
    let addr = Address::email("alice@example.com").unwrap();
    let begin = fields(&[("identifier", "alice@example.com")]);
    let later = at(30 * 61 + 61);
    assert!(retry_after(f.ids.send_verification_code(&addr, Locale::En, later).await) > 1000);
    assert!(
        retry_after(
            f.ids
                .begin_login("email_code", &begin, Locale::En, later)
                .await
        ) > 1000
    );
    assert!(retry_after(f.ids.send_recovery_code(&addr, Locale::En, later).await) > 1000);
    // An hour after the first, the next goes out.
    f.ids
        .send_verification_code(&addr, Locale::En, at(3600))
        .await
        .unwrap();
}

#[tokio::test]
async fn setting_a_password_needs_a_recent_login() {
    let f = fixture().await;
    // No password yet: the case where the current one is not asked.
    let identity = f
        .ids
        .create("alice@example.com", None, None, at(0))
        .await
        .unwrap();
    let (_, session) = f
        .ids
        .start_session(&identity, &["otp"], &SeenFrom::default(), at(0))
        .await
        .unwrap();
    let window = Config::default().session.privileged_max_age_secs as i64;
    assert!(matches!(
        f.ids
            .change_password(&session, None, "a long enough passphrase", at(window + 1))
            .await,
        Err(Error::ReauthenticationRequired)
    ));
    assert!(
        f.store
            .get_identity(&identity.id)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_none()
    );
    f.ids
        .change_password(&session, None, "a long enough passphrase", at(window))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sign_up_password_survives_the_first_proof_only_from_the_sign_up() {
    let f = fixture().await;
    let addr = Address::email("victim@example.com").unwrap();
    let sign_up = |email: &str| Registration {
        email: Some(email.into()),
        password: PW.into(),
        ..Default::default()
    };
    let login = fields(&[("identifier", "victim@example.com"), ("password", PW)]);

    // Someone else signs up with the address and logs in with the password.
    f.ids
        .register(sign_up("victim@example.com"), Locale::En, at(0))
        .await
        .unwrap();
    let code = f.sent_code().await;
    let (stranger, _) = f.ids.authenticate("password", &login, at(1)).await.unwrap();
    assert!(stranger.traits.password_unproven);
    let (_, squatter) = f
        .ids
        .start_session(&stranger, &["pwd"], &SeenFrom::default(), at(1))
        .await
        .unwrap();
    // A proof that is not this sign-up's (another sign-up's, say) counts
    // as none. The owner proves the address: the password goes, and so
    // does every session.
    let other = f
        .ids
        .register(sign_up("other@example.com"), Locale::En, at(2))
        .await
        .unwrap();
    let owner = f
        .ids
        .verify(&addr, &code, Some(&other.proof), at(3))
        .await
        .unwrap();
    assert!(owner.traits.email_verified && !owner.traits.password_unproven);
    assert!(owner.password_hash.is_none());
    assert!(matches!(
        f.ids.authenticate("password", &login, at(4)).await,
        Err(Error::InvalidCredentials)
    ));
    assert!(
        f.store
            .get_session(&squatter.token_hash, 4)
            .await
            .unwrap()
            .is_none()
    );

    // The person who signed up, proving the address from the sign-up's
    // browser, keeps the password.
    let mine = Address::email("other@example.com").unwrap();
    let code = f.sent_code().await;
    let me = f
        .ids
        .verify(&mine, &code, Some(&other.proof), at(5))
        .await
        .unwrap();
    assert!(me.password_hash.is_some() && !me.traits.password_unproven);
    let mine_login = fields(&[("identifier", "other@example.com"), ("password", PW)]);
    f.ids
        .authenticate("password", &mine_login, at(6))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_session_keeps_its_browser_and_ip_and_its_last_use_every_few_minutes() {
    let f = fixture().await;
    let identity = f
        .ids
        .create("alice@example.com", Some(PW), None, at(0))
        .await
        .unwrap();
    let seen = SeenFrom {
        user_agent: Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36".into(),
        ),
        ip: Some("198.51.100.4".into()),
    };
    let (token, session) = f
        .ids
        .start_session(&identity, &["pwd"], &seen, at(10))
        .await
        .unwrap();
    let touch = oneauth_store::SESSION_TOUCH_SECS;
    let start = session.authenticated_at;
    // A use within the interval is not written; one after it is.
    f.ids.session(&token, at(10 + touch - 1)).await.unwrap();
    let listed = f.ids.sessions(&session, at(10 + touch)).await.unwrap();
    assert_eq!(listed[0].last_used_at, start);
    f.ids.session(&token, at(10 + touch)).await.unwrap();
    let listed = f.ids.sessions(&session, at(10 + touch)).await.unwrap();
    let s = &listed[0];
    assert_eq!(s.last_used_at, start + touch);
    assert_eq!(s.device.as_deref(), Some("Windows 10"));
    assert_eq!(s.browser.as_deref(), Some("Chrome 131"));
    assert_eq!(s.ip.as_deref(), Some("198.51.100.4"));
    assert!(s.current);
}
