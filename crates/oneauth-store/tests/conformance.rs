//! Store behaviour every backend must show. Each behaviour is one async fn
//! taking the store; `conformance!` runs it on SQLite always and on
//! PostgreSQL when `ONEAUTH_TEST_DATABASE_URL` is set, each run on a fresh,
//! private database (a temp file; a schema of its own) so tests run in
//! parallel without seeing each other.

use oneauth_store::*;
use sqlx::Connection as _;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Once};

const PG_URL_VAR: &str = "ONEAUTH_TEST_DATABASE_URL";

macro_rules! conformance {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::on_sqlite(crate::$name).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::on_postgres(crate::$name).await;
                }
            )+
        }
    };
}

conformance!(
    take_code_is_single_use_even_under_concurrency,
    tokens_expire_and_revoke_by_grant,
    flows_advance_only_from_the_expected_state,
    flows_advance_once_even_under_concurrency,
    client_origins_follow_redirect_uris,
    keys_list_newest_first,
    identities_are_unique_by_email_and_delete_with_their_rows,
    sessions_live_until_expiry_or_revocation,
    sessions_keep_where_they_came_from_and_their_last_use_every_few_minutes,
    consents_upsert,
    refresh_rotation_is_a_compare_and_swap_with_a_grace_window,
    expired_rows_are_deleted_in_batches,
    disabling_an_identity_revokes_its_sessions_and_tokens,
    tokens_revoke_one_at_a_time_and_show_their_use,
    rate_limit_hits_count_per_window_and_concurrently,
    revoking_races_no_refresh_into_a_live_token,
    a_fresh_store_is_current_and_pooled,
    a_code_is_redeemed_with_its_tokens_once,
    identities_are_unique_by_each_identifier_and_found_by_each,
    sessions_are_listed_and_the_others_revoked,
    one_time_codes_newest_only_limited_attempts_single_use,
    courier_messages_are_leased_once_retried_and_abandoned,
    concurrent_token_inserts_all_land_and_a_bad_one_fails_alone,
    external_identities_link_once_and_go_with_their_identity,
    tokens_are_read_with_their_identity,
    revoking_an_identitys_access_ends_its_tokens_and_other_sessions,
    deleting_a_client_deletes_its_tokens,
    a_client_and_a_token_are_read_together,
    budgets_are_written_by_compare_and_swap,
    device_codes_are_found_by_either_hash_and_answered_once,
    a_device_code_yields_its_tokens_once_under_concurrency,
    device_codes_go_with_their_client_and_expire,
    platform_tokens_live_until_expiry_and_the_newest_wins,
    merging_an_identity_moves_its_links_and_ends_its_access,
    // TOTP and recovery codes (issue 17).
    totp_enrolment_replaces_only_an_unconfirmed_secret,
    totp_steps_are_accepted_once_even_under_concurrency,
    recovery_codes_are_single_use_even_under_concurrency_and_replaced_as_a_set,
    // Passkeys (issue 17).
    passkeys_are_unique_by_credential_and_belong_to_their_identity,
    a_passkey_use_is_a_compare_and_swap,
    ceremonies_are_taken_once_even_under_concurrency,
    expired_ceremonies_are_refused_and_cleaned,
);

async fn on_sqlite<Fut: Future<Output = ()>>(test: impl FnOnce(Arc<dyn Store>) -> Fut) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    test(open(&url).await.unwrap()).await;
}

async fn on_postgres<Fut>(test: impl FnOnce(Arc<dyn Store>) -> Fut + Send + 'static)
where
    Fut: Future<Output = ()> + Send,
{
    let Some(base) = pg_url() else { return };
    in_fresh_schema(&base, |url| async move {
        test(open(&url).await.unwrap()).await;
    })
    .await;
}

/// The PostgreSQL URL, or `None` after saying loudly that those tests skip.
fn pg_url() -> Option<String> {
    match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                // Written to the process's stderr directly (libtest captures
                // eprintln! of passing tests, and this must not go unseen),
                // in one write so it does not interleave with test lines.
                let line = format!(
                    "SKIPPED: PostgreSQL conformance (set {PG_URL_VAR}, e.g. postgres://postgres@127.0.0.1:5432/test)\n"
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
            });
            None
        }
    }
}

/// Runs `test` with a URL whose connections use a new, empty schema, and
/// drops the schema afterwards, also when `test` panics.
async fn in_fresh_schema<Fut>(base: &str, test: impl FnOnce(String) -> Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base)
        .await
        .unwrap_or_else(|e| panic!("{PG_URL_VAR}={base}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options[search_path]={schema}");
    // Spawned so that a panic comes back as a value and the schema still goes.
    let outcome = tokio::spawn(test(url)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Several nodes starting at once all migrate the same fresh schema: each
/// must succeed, and every migration must be applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_run_concurrently() {
    let Some(base) = pg_url() else { return };
    in_fresh_schema(&base, |url| async move {
        let opens: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { open(&url).await.map(|_| ()) })
            })
            .collect();
        for o in opens {
            o.await.unwrap().expect("a concurrent open failed");
        }
        let store = open(&url).await.unwrap();
        store.ping().await.unwrap();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let (applied, all_ok): (i64, bool) =
            sqlx::query_as("SELECT count(*), bool_and(success) FROM _sqlx_migrations")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(applied as usize, migration_files("postgres").len());
        assert!(all_ok);
    })
    .await;
}

/// Both backends carry the same migrations, so a schema change on one
/// cannot be forgotten on the other.
#[test]
fn migrations_match_across_backends() {
    let sqlite = migration_files("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, migration_files("postgres"));
}

fn migration_files(backend: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn code(hash: &str) -> AuthorizationCode {
    AuthorizationCode {
        hash: hash.into(),
        grant_id: "g1".into(),
        client_id: "c".into(),
        redirect_uri: "http://app/cb".into(),
        code_challenge: Some("x".into()),
        nonce: None,
        scope: vec!["openid".into()],
        subject: "s".into(),
        session_id: "sid".into(),
        auth_time: 1,
        amr: vec!["pwd".into()],
        expires_at: 100,
    }
}

async fn take_code_is_single_use_even_under_concurrency(store: Arc<dyn Store>) {
    store.insert_code(&code("h1")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(
            async move { s.take_code("h1", 5).await.unwrap() },
        ));
    }
    let mut fresh = 0;
    for t in tasks {
        match t.await.unwrap() {
            TakenCode::Fresh(c) => {
                fresh += 1;
                assert_eq!(c.expires_at, 100);
                assert_eq!(c.scope, vec!["openid".to_string()]);
            }
            TakenCode::Reused { grant_id } => assert_eq!(grant_id, "g1"),
            TakenCode::Unknown => panic!("code vanished"),
        }
    }
    assert_eq!(fresh, 1);
    assert!(matches!(
        store.take_code("nope", 5).await.unwrap(),
        TakenCode::Unknown
    ));
}

async fn tokens_expire_and_revoke_by_grant(store: Arc<dyn Store>) {
    let t = |hash: &str, kind| Token {
        hash: hash.into(),
        kind,
        grant_id: "g".into(),
        client_id: "c".into(),
        subject: Some("s".into()),
        scope: vec!["openid".into(), "offline".into()],
        session_id: None,
        issued_at: 0,
        expires_at: 10,
        used_at: None,
    };
    store
        .insert_tokens(&[t("a", TokenKind::Access), t("r", TokenKind::Refresh)])
        .await
        .unwrap();
    assert!(
        store
            .get_token(TokenKind::Access, "a", 9)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .get_token(TokenKind::Access, "a", 10)
            .await
            .unwrap()
            .is_none(),
        "expired at 10"
    );
    assert!(
        store
            .get_token(TokenKind::Refresh, "a", 1)
            .await
            .unwrap()
            .is_none(),
        "wrong kind"
    );
    assert_eq!(store.revoke_grant("g", 2).await.unwrap(), 2);
    assert!(
        store
            .get_token(TokenKind::Refresh, "r", 3)
            .await
            .unwrap()
            .is_none()
    );
}

async fn flows_advance_only_from_the_expected_state(store: Arc<dyn Store>) {
    let mut flow = Flow {
        id: "f".into(),
        login_challenge_hash: "lc".into(),
        login_verifier_hash: None,
        consent_challenge_hash: None,
        consent_verifier_hash: None,
        state: FlowState::LoginPending,
        request: AuthorizeRequest {
            client_id: "c".into(),
            redirect_uri: "http://app/cb".into(),
            scope: vec!["openid".into()],
            state: Some("st".into()),
            nonce: None,
            code_challenge: None,
            prompt: vec![],
            max_age: None,
            login_hint: None,
            ui_locales: None,
            popup: false,
            acr_values: vec!["urn:oneauth:acr:mfa".into()],
        },
        browser_hash: "b".into(),
        requested_at: 0,
        subject: None,
        session_id: None,
        auth_time: None,
        amr: vec![],
        stale_session_id: None,
        login_skipped: false,
        granted_scope: vec![],
        expires_at: 50,
    };
    store.insert_flow(&flow).await.unwrap();
    flow.state = FlowState::LoginAccepted;
    flow.login_verifier_hash = Some("lv".into());
    flow.subject = Some("alice".into());
    assert!(
        store
            .advance_flow(&flow, FlowState::LoginPending)
            .await
            .unwrap()
    );
    assert!(
        !store
            .advance_flow(&flow, FlowState::LoginPending)
            .await
            .unwrap(),
        "second accept must fail"
    );
    let got = store
        .get_flow(FlowKey::LoginVerifier, "lv", 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, flow);
    assert!(
        store
            .get_flow(FlowKey::LoginChallenge, "lc", 50)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
}

async fn client_origins_follow_redirect_uris(store: Arc<dyn Store>) {
    let mut c = client("web");
    c.redirect_uris = vec![
        "http://App.example:3000/cb?x=1".into(),
        "com.example.app:/cb".into(),
    ];
    store.insert_client(&c).await.unwrap();
    assert!(matches!(
        store.insert_client(&c).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .is_client_origin("http://app.example:3000")
            .await
            .unwrap()
    );
    c.redirect_uris = vec!["https://other.example/cb".into()];
    c.post_logout_redirect_uris = vec!["https://other.example/bye".into()];
    c.require_mfa = true;
    assert!(store.update_client(&c).await.unwrap());
    assert!(
        !store
            .is_client_origin("http://app.example:3000")
            .await
            .unwrap()
    );
    assert!(
        store
            .is_client_origin("https://other.example")
            .await
            .unwrap()
    );
    assert!(
        store
            .is_post_logout_uri("https://other.example/bye")
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_post_logout_uri("https://other.example/cb")
            .await
            .unwrap()
    );
    assert_eq!(store.get_client("web").await.unwrap().unwrap(), c);
    assert!(store.delete_client("web").await.unwrap());
    assert!(
        !store
            .is_client_origin("https://other.example")
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_post_logout_uri("https://other.example/bye")
            .await
            .unwrap()
    );
}

fn refresh(hash: &str, expires_at: i64) -> Token {
    Token {
        hash: hash.into(),
        kind: TokenKind::Refresh,
        grant_id: "family".into(),
        client_id: "c".into(),
        subject: Some("s".into()),
        scope: vec!["offline".into()],
        session_id: None,
        issued_at: 0,
        expires_at,
        used_at: None,
    }
}

async fn refresh_rotation_is_a_compare_and_swap_with_a_grace_window(store: Arc<dyn Store>) {
    store.insert_tokens(&[refresh("r0", 1000)]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let next = refresh(&format!("r1-{i}"), 1000);
            s.rotate_refresh("r0", 10, 5, &[next], format!("sealed-{i}").as_bytes())
                .await
                .unwrap()
        }));
    }
    let mut winners = Vec::new();
    let mut replays = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Rotation::Rotated => winners.push(i),
            Rotation::Replayed { sealed_successor } => replays.push(sealed_successor),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation");
    let w = winners[0];
    assert!(
        replays
            .iter()
            .all(|r| r == format!("sealed-{w}").as_bytes()),
        "every replay gets the winner's pair"
    );
    assert!(
        store
            .get_token(TokenKind::Refresh, &format!("r1-{w}"), 11)
            .await
            .unwrap()
            .is_some()
    );
    let loser = (w + 1) % 20;
    assert!(
        store
            .get_token(TokenKind::Refresh, &format!("r1-{loser}"), 11)
            .await
            .unwrap()
            .is_none()
    );

    // After the grace window a replay is reuse; unknown tokens are invalid.
    let late = store
        .rotate_refresh("r0", 16, 5, &[refresh("late", 1000)], b"x")
        .await
        .unwrap();
    assert!(
        matches!(late, Rotation::Reused { ref grant_id } if grant_id == "family"),
        "{late:?}"
    );
    assert!(matches!(
        store
            .rotate_refresh("nope", 16, 5, &[], b"x")
            .await
            .unwrap(),
        Rotation::Invalid
    ));
    store.revoke_grant("family", 17).await.unwrap();
    assert!(matches!(
        store
            .rotate_refresh(&format!("r1-{w}"), 18, 5, &[], b"x")
            .await
            .unwrap(),
        Rotation::Invalid
    ));
}

async fn expired_rows_are_deleted_in_batches(store: Arc<dyn Store>) {
    let tokens: Vec<Token> = (0..25)
        .map(|i| refresh(&format!("t{i}"), if i < 20 { 50 } else { 500 }))
        .collect();
    store.insert_tokens(&tokens).await.unwrap();
    store.insert_code(&code("c-old")).await.unwrap();
    assert_eq!(
        store.delete_expired(101, 101, 7).await.unwrap(),
        21,
        "20 tokens and one code"
    );
    assert!(
        store
            .get_token(TokenKind::Refresh, "t24", 100)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        store.take_code("c-old", 100).await.unwrap(),
        TakenCode::Unknown
    ));
}

async fn disabling_an_identity_revokes_its_sessions_and_tokens(store: Arc<dyn Store>) {
    let identity = Identity {
        id: "s".into(),
        traits: Traits {
            email: Some("s@example.com".into()),
            ..Traits::default()
        },
        state: IdentityState::Active,
        password_hash: None,
        created_at: 0,
        updated_at: 0,
    };
    store.insert_identity(&identity).await.unwrap();
    store
        .insert_session(&Session {
            id: "sess".into(),
            token_hash: "sh".into(),
            identity_id: "s".into(),
            authenticated_at: 0,
            amr: vec!["pwd".into()],
            expires_at: 1000,
            seen_from: SeenFrom::default(),
            last_used_at: 0,
            second_factor_pending: false,
        })
        .await
        .unwrap();
    store.insert_tokens(&[refresh("rt", 1000)]).await.unwrap();
    assert!(
        store
            .set_identity_state("s", IdentityState::Disabled, 5)
            .await
            .unwrap()
    );
    assert!(store.get_session("sh", 6).await.unwrap().is_none());
    assert!(
        store
            .get_token(TokenKind::Refresh, "rt", 6)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.get_identity("s").await.unwrap().unwrap().state,
        IdentityState::Disabled
    );
    assert!(
        !store
            .set_identity_state("ghost", IdentityState::Disabled, 5)
            .await
            .unwrap()
    );
}

async fn rate_limit_hits_count_per_window_and_concurrently(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.hit("k", 60, 180, 1).await.unwrap()
        }));
    }
    let mut counts: Vec<i64> = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<i64>>(),
        "every hit counted once"
    );
    assert_eq!(
        store.hit("k", 120, 240, 1).await.unwrap(),
        1,
        "a new window starts over"
    );
    assert_eq!(
        store.hit("other", 120, 240, 5).await.unwrap(),
        5,
        "a batch of hits at once"
    );
    assert_eq!(store.hit("other", 120, 240, 2).await.unwrap(), 7);
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        client_name: "Web".into(),
        secret_hash: None,
        redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode],
        response_types: vec![ResponseType::Code],
        scope: vec!["openid".into()],
        token_endpoint_auth_method: AuthMethod::None,
        post_logout_redirect_uris: vec![],
        skip_consent: true,
        id_token_signed_response_alg: None,
        access_token_strategy: None,
        native_cli_login: false,
        allow_no_pkce: false,
        require_mfa: false,
        logo_uri: None,
        policy_uri: None,
        tos_uri: None,
        client_uri: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn flow(id: &str) -> Flow {
    Flow {
        id: id.into(),
        login_challenge_hash: format!("lc-{id}"),
        login_verifier_hash: None,
        consent_challenge_hash: None,
        consent_verifier_hash: None,
        state: FlowState::LoginPending,
        request: AuthorizeRequest {
            client_id: "c".into(),
            redirect_uri: "http://app/cb".into(),
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: vec![],
            max_age: None,
            login_hint: None,
            ui_locales: None,
            popup: true,
            acr_values: vec![],
        },
        browser_hash: "b".into(),
        requested_at: 0,
        subject: None,
        session_id: None,
        auth_time: None,
        amr: vec![],
        stale_session_id: None,
        login_skipped: false,
        granted_scope: vec![],
        expires_at: 50,
    }
}

async fn flows_advance_once_even_under_concurrency(store: Arc<dyn Store>) {
    store.insert_flow(&flow("f")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut f = flow("f");
            f.state = FlowState::LoginAccepted;
            f.login_verifier_hash = Some(format!("lv{i}"));
            s.advance_flow(&f, FlowState::LoginPending).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
}

async fn keys_list_newest_first(store: Arc<dyn Store>) {
    let key = |kid: &str, created_at| StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        sealed_key: vec![0, 1, 255],
        created_at,
    };
    // k2 and k3 share a second: the later insert counts as newer.
    for k in [key("k1", 1), key("k2", 2), key("k3", 2)] {
        store.insert_key(&k).await.unwrap();
    }
    let keys = store.list_keys().await.unwrap();
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(kids, ["k3", "k2", "k1"]);
    assert_eq!(keys[0].sealed_key, vec![0, 1, 255]);
    assert!(matches!(
        store.insert_key(&key("k1", 9)).await,
        Err(StoreError::Conflict)
    ));
}

fn identity(id: &str, email: &str) -> Identity {
    Identity {
        id: id.into(),
        traits: Traits {
            email: Some(email.into()),
            name: Some("Alice".into()),
            email_verified: true,
            ..Traits::default()
        },
        state: IdentityState::Active,
        password_hash: Some("$argon2id$x".into()),
        created_at: 1,
        updated_at: 1,
    }
}

fn session(id: &str, identity_id: &str, expires_at: i64) -> Session {
    Session {
        id: id.into(),
        token_hash: format!("th-{id}"),
        identity_id: identity_id.into(),
        authenticated_at: 1,
        amr: vec!["pwd".into(), "otp".into()],
        expires_at,
        seen_from: SeenFrom {
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0".into()),
            ip: Some("203.0.113.7".into()),
        },
        last_used_at: 1,
        // Read back as written (the round trip below compares whole rows).
        second_factor_pending: true,
    }
}

async fn identities_are_unique_by_email_and_delete_with_their_rows(store: Arc<dyn Store>) {
    let alice = identity("a", "alice@example.com");
    let mut bob = identity("b", "bob@example.com");
    bob.state = IdentityState::Disabled;
    bob.password_hash = None;
    store.insert_identity(&alice).await.unwrap();
    store.insert_identity(&bob).await.unwrap();
    assert!(matches!(
        store
            .insert_identity(&identity("c", "alice@example.com"))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_identity("b").await.unwrap(), Some(bob.clone()));
    assert_eq!(
        store
            .get_identity_by_email("alice@example.com")
            .await
            .unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.list_identities().await.unwrap(), [alice, bob]);

    store.insert_session(&session("s", "a", 100)).await.unwrap();
    store
        .insert_tokens(&[Token {
            hash: "at".into(),
            kind: TokenKind::Access,
            grant_id: "g".into(),
            client_id: "c".into(),
            subject: Some("a".into()),
            scope: vec!["openid".into()],
            session_id: Some("s".into()),
            issued_at: 0,
            expires_at: 100,
            used_at: None,
        }])
        .await
        .unwrap();
    assert!(store.delete_identity("a").await.unwrap());
    assert!(!store.delete_identity("a").await.unwrap());
    assert_eq!(store.get_identity("a").await.unwrap(), None);
    assert_eq!(store.get_session("th-s", 1).await.unwrap(), None);
    assert_eq!(
        store.get_token(TokenKind::Access, "at", 1).await.unwrap(),
        None
    );
}

async fn sessions_live_until_expiry_or_revocation(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    let s = session("s", "a", 10);
    store.insert_session(&s).await.unwrap();
    assert!(matches!(
        store.insert_session(&s).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_session("th-s", 9).await.unwrap(), Some(s));
    assert_eq!(
        store.get_session("th-s", 10).await.unwrap(),
        None,
        "expired at 10"
    );
    assert!(store.revoke_session("s", 5).await.unwrap());
    assert!(
        !store.revoke_session("s", 5).await.unwrap(),
        "a session ends once: the second-factor step relies on it"
    );
    assert_eq!(store.get_session("th-s", 6).await.unwrap(), None);
}

async fn sessions_keep_where_they_came_from_and_their_last_use_every_few_minutes(
    store: Arc<dyn Store>,
) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    let s = session("s", "a", 10_000);
    store.insert_session(&s).await.unwrap();
    let get = || async { store.get_session("th-s", 2).await.unwrap().unwrap() };
    assert_eq!(get().await.seen_from, s.seen_from);
    // Within the interval the use is not written; after it, it is.
    store.touch_session("s", SESSION_TOUCH_SECS).await.unwrap();
    assert_eq!(get().await.last_used_at, 1);
    store
        .touch_session("s", 1 + SESSION_TOUCH_SECS)
        .await
        .unwrap();
    assert_eq!(get().await.last_used_at, 1 + SESSION_TOUCH_SECS);
    let listed = store.list_sessions("a", 2).await.unwrap();
    assert_eq!(listed[0].last_used_at, 1 + SESSION_TOUCH_SECS);
    assert_eq!(listed[0].seen_from.ip.as_deref(), Some("203.0.113.7"));
}

async fn consents_upsert(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    store.insert_client(&client("c")).await.unwrap();
    assert_eq!(store.get_consent("a", "c").await.unwrap(), None);
    let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    store
        .upsert_consent("a", "c", &scopes(&["openid"]), 1)
        .await
        .unwrap();
    store
        .upsert_consent("a", "c", &scopes(&["openid", "email"]), 2)
        .await
        .unwrap();
    assert_eq!(
        store.get_consent("a", "c").await.unwrap(),
        Some(scopes(&["openid", "email"]))
    );
    assert!(store.delete_client("c").await.unwrap());
    assert_eq!(store.get_consent("a", "c").await.unwrap(), None);
}

async fn tokens_revoke_one_at_a_time_and_show_their_use(store: Arc<dyn Store>) {
    let mut access = refresh("a", 100);
    access.kind = TokenKind::Access;
    store
        .insert_tokens(&[access, refresh("r0", 100)])
        .await
        .unwrap();
    assert!(matches!(
        store
            .rotate_refresh("r0", 10, 5, &[refresh("r1", 100)], b"sealed")
            .await
            .unwrap(),
        Rotation::Rotated
    ));
    let used = store.get_token(TokenKind::Refresh, "r0", 11).await.unwrap();
    assert_eq!(
        used.and_then(|t| t.used_at),
        Some(10),
        "kept to spot replays"
    );
    let fresh = store.get_token(TokenKind::Refresh, "r1", 11).await.unwrap();
    assert_eq!(fresh.unwrap().used_at, None);

    assert!(store.revoke_token("a", 12).await.unwrap());
    assert!(
        !store.revoke_token("a", 13).await.unwrap(),
        "revoked already"
    );
    assert!(!store.revoke_token("nope", 13).await.unwrap());
    assert!(
        store
            .get_token(TokenKind::Access, "a", 14)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_token(TokenKind::Refresh, "r1", 14)
            .await
            .unwrap()
            .is_some(),
        "the rest of the grant lives"
    );
}

/// Revoking while a refresh token rotates, by disabling or deleting its
/// identity or revoking its grant: whichever wins, neither the token nor its
/// successor is live afterwards.
async fn revoking_races_no_refresh_into_a_live_token(store: Arc<dyn Store>) {
    for round in 0..30 {
        let id = format!("u{round}");
        store
            .insert_identity(&identity(&id, &format!("{id}@example.com")))
            .await
            .unwrap();
        let token = |hash: &str| Token {
            subject: Some(id.clone()),
            grant_id: format!("g{round}"),
            ..refresh(&format!("{hash}-{round}"), 100)
        };
        store.insert_tokens(&[token("r0")]).await.unwrap();
        let (s1, s2, next) = (store.clone(), store.clone(), token("r1"));
        let hash = format!("r0-{round}");
        let rotate =
            tokio::spawn(async move { s1.rotate_refresh(&hash, 10, 5, &[next], b"x").await });
        let id2 = id.clone();
        let revoke = tokio::spawn(async move {
            match round % 3 {
                0 => s2
                    .set_identity_state(&id2, IdentityState::Disabled, 10)
                    .await
                    .map(|_| ()),
                1 => s2.delete_identity(&id2).await.map(|_| ()),
                _ => s2.revoke_grant(&format!("g{round}"), 10).await.map(|_| ()),
            }
        });
        rotate.await.unwrap().unwrap();
        revoke.await.unwrap().unwrap();
        for hash in ["r0", "r1"] {
            assert_eq!(
                store
                    .get_token(TokenKind::Refresh, &format!("{hash}-{round}"), 11)
                    .await
                    .unwrap(),
                None,
                "{hash} outlived revocation kind {}",
                round % 3
            );
        }
    }
}

async fn a_fresh_store_is_current_and_pooled(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    assert!(store.schema_current().await.unwrap());
    let stats = store.pool_stats();
    assert!(stats.size >= 1 && stats.idle <= stats.size, "{stats:?}");
}

async fn a_code_is_redeemed_with_its_tokens_once(store: Arc<dyn Store>) {
    let token = |hash: &str| Token {
        kind: TokenKind::Access,
        grant_id: "g1".into(),
        ..refresh(hash, 1000)
    };
    let stored = |hash: String| {
        let store = store.clone();
        async move {
            store
                .get_token(TokenKind::Access, &hash, 7)
                .await
                .unwrap()
                .is_some()
        }
    };
    store.insert_code(&code("h2")).await.unwrap();
    let unused = store.get_unused_code("h2").await.unwrap().expect("unused");
    assert_eq!(
        (
            unused.hash.as_str(),
            unused.grant_id.as_str(),
            unused.expires_at
        ),
        ("h2", "g1", 100)
    );
    // Ten exchanges at once: one stores its tokens, the others store none
    // and name the grant to revoke.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = store.clone();
        let t = token(&format!("t{i}"));
        tasks.push(tokio::spawn(async move {
            (i, s.redeem_code("h2", 5, &[t]).await.unwrap())
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (i, TakenCode::Fresh(c)) => {
                assert_eq!(c.scope, vec!["openid".to_string()]);
                winners.push(i);
            }
            (_, TakenCode::Reused { grant_id }) => assert_eq!(grant_id, "g1"),
            (_, TakenCode::Unknown) => panic!("code vanished"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    for i in 0..10 {
        assert_eq!(stored(format!("t{i}")).await, winners == [i], "t{i}");
    }
    assert!(store.get_unused_code("h2").await.unwrap().is_none());
    // A code nobody issued: nothing stored.
    assert!(matches!(
        store
            .redeem_code("nope", 6, &[token("t-unknown")])
            .await
            .unwrap(),
        TakenCode::Unknown
    ));
    assert!(!stored("t-unknown".into()).await);
    assert!(store.get_unused_code("nope").await.unwrap().is_none());
}

fn identity_with(
    id: &str,
    email: Option<&str>,
    phone: Option<&str>,
    username: Option<&str>,
) -> Identity {
    Identity {
        id: id.into(),
        traits: Traits {
            email: email.map(Into::into),
            phone: phone.map(Into::into),
            username: username.map(Into::into),
            ..Traits::default()
        },
        state: IdentityState::Active,
        password_hash: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn session_at(id: &str, identity_id: &str, at: i64) -> Session {
    Session {
        id: id.into(),
        token_hash: format!("h-{id}"),
        identity_id: identity_id.into(),
        authenticated_at: at,
        amr: vec!["pwd".into()],
        expires_at: 1000,
        seen_from: SeenFrom::default(),
        last_used_at: at,
        second_factor_pending: false,
    }
}

async fn identities_are_unique_by_each_identifier_and_found_by_each(store: Arc<dyn Store>) {
    let a = identity_with(
        "a",
        Some("a@example.com"),
        Some("+8613800138000"),
        Some("alice"),
    );
    store.insert_identity(&a).await.unwrap();
    // Identifiers are optional: several identities may lack a phone or a username.
    store
        .insert_identity(&identity_with("b", Some("b@example.com"), None, None))
        .await
        .unwrap();
    store
        .insert_identity(&identity_with("c", None, Some("+14155550100"), None))
        .await
        .unwrap();
    for dup in [
        identity_with("x", Some("a@example.com"), None, None),
        identity_with("y", None, Some("+8613800138000"), None),
        identity_with("z", Some("z@example.com"), None, Some("alice")),
    ] {
        assert!(matches!(
            store.insert_identity(&dup).await,
            Err(StoreError::Conflict)
        ));
    }
    let by_phone = store.get_identity_by_phone("+8613800138000").await.unwrap();
    assert_eq!(by_phone.unwrap().id, "a");
    let by_name = store.get_identity_by_username("alice").await.unwrap();
    assert_eq!(by_name.unwrap(), a);
    assert!(
        store
            .get_identity_by_username("bob")
            .await
            .unwrap()
            .is_none()
    );

    let mut b = store.get_identity("b").await.unwrap().unwrap();
    b.traits.username = Some("alice".into());
    assert!(matches!(
        store.update_identity(&b).await,
        Err(StoreError::Conflict)
    ));
    b.traits.username = Some("bob".into());
    b.traits.email_verified = true;
    b.password_hash = Some("$argon2id$x".into());
    b.updated_at = 7;
    assert!(store.update_identity(&b).await.unwrap());
    assert_eq!(
        store.get_identity_by_username("bob").await.unwrap(),
        Some(b.clone())
    );
    b.id = "ghost".into();
    assert!(!store.update_identity(&b).await.unwrap());
}

async fn sessions_are_listed_and_the_others_revoked(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity_with("a", Some("a@example.com"), None, None))
        .await
        .unwrap();
    store
        .insert_identity(&identity_with("b", Some("b@example.com"), None, None))
        .await
        .unwrap();
    for (id, owner, at) in [
        ("s1", "a", 1),
        ("s2", "a", 2),
        ("s3", "a", 3),
        ("t1", "b", 1),
    ] {
        store
            .insert_session(&session_at(id, owner, at))
            .await
            .unwrap();
    }
    let ids = |v: Vec<Session>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_sessions("a", 10).await.unwrap()),
        ["s3", "s2", "s1"]
    );
    assert_eq!(
        store
            .revoke_other_sessions("a", Some("s2"), 10)
            .await
            .unwrap(),
        2
    );
    assert_eq!(ids(store.list_sessions("a", 10).await.unwrap()), ["s2"]);
    assert_eq!(ids(store.list_sessions("b", 10).await.unwrap()), ["t1"]);
    assert_eq!(store.revoke_other_sessions("b", None, 10).await.unwrap(), 1);
    assert!(store.list_sessions("b", 10).await.unwrap().is_empty());
    assert!(
        store.list_sessions("a", 1000).await.unwrap().is_empty(),
        "expired"
    );
}

fn otc(id: &str, address: &str, created_at: i64) -> OneTimeCode {
    OneTimeCode {
        id: id.into(),
        purpose: CodePurpose::Login,
        address: address.into(),
        identity_id: None,
        code_hash: format!("hash-{id}"),
        attempts: 0,
        created_at,
        expires_at: created_at + 600,
    }
}

async fn one_time_codes_newest_only_limited_attempts_single_use(store: Arc<dyn Store>) {
    let addr = "a@example.com";
    store
        .insert_one_time_code(&otc("c1", addr, 10))
        .await
        .unwrap();
    store
        .insert_one_time_code(&otc("c2", addr, 20))
        .await
        .unwrap();
    // Concurrent guesses never spend more than the limit.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.spend_one_time_code_attempt(CodePurpose::Login, addr, 3, 30)
                .await
                .unwrap()
        }));
    }
    let mut spent = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            assert_eq!(c.id, "c2", "only the newest code counts");
            spent.push(c.attempts);
        }
    }
    spent.sort();
    assert_eq!(spent, [1, 2, 3]);
    // A fresh code: guesses against another purpose find nothing.
    store
        .insert_one_time_code(&otc("c3", addr, 40))
        .await
        .unwrap();
    assert!(
        store
            .spend_one_time_code_attempt(CodePurpose::Recovery, addr, 3, 41)
            .await
            .unwrap()
            .is_none()
    );
    let c3 = store
        .spend_one_time_code_attempt(CodePurpose::Login, addr, 3, 41)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c3.id.as_str(), c3.code_hash.as_str()), ("c3", "hash-c3"));
    assert!(store.take_one_time_code("c3", 42).await.unwrap());
    assert!(
        !store.take_one_time_code("c3", 42).await.unwrap(),
        "single use"
    );
    assert!(
        store
            .spend_one_time_code_attempt(CodePurpose::Login, addr, 3, 43)
            .await
            .unwrap()
            .is_none()
    );
    // Expired codes take no guesses.
    store
        .insert_one_time_code(&otc("c4", addr, 50))
        .await
        .unwrap();
    assert!(
        store
            .spend_one_time_code_attempt(CodePurpose::Login, addr, 3, 650)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.delete_expired(645, 0, 100).await.unwrap(),
        3,
        "codes go once expired"
    );
    assert_eq!(store.delete_expired(651, 0, 100).await.unwrap(), 1);
}

async fn budgets_are_written_by_compare_and_swap(store: Arc<dyn Store>) {
    let b = |count| Budget {
        count,
        window_start: 10,
        last_at: 11,
        locked_until: 12,
        expires_at: 100,
    };
    assert_eq!(store.get_budget("k").await.unwrap(), None);
    assert!(store.put_budget("k", &b(1), None).await.unwrap());
    assert!(
        !store.put_budget("k", &b(9), None).await.unwrap(),
        "a second first write loses"
    );
    let (read, v) = store.get_budget("k").await.unwrap().unwrap();
    assert_eq!(read, b(1));
    // Concurrent writers of one version: exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.put_budget("k", &b(10 + i), Some(v)).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    let (read, v2) = store.get_budget("k").await.unwrap().unwrap();
    assert!(read.count >= 10 && v2 == v + 1, "{read:?} {v2}");
    assert!(
        !store.put_budget("k", &b(2), Some(v)).await.unwrap(),
        "stale"
    );
    assert!(store.put_budget("other", &b(1), None).await.unwrap());
    let mut later = b(1);
    later.expires_at = 200;
    assert!(store.put_budget("other", &later, Some(1)).await.unwrap());
    assert_eq!(store.delete_expired(150, 0, 100).await.unwrap(), 1);
    assert_eq!(store.get_budget("k").await.unwrap(), None, "expired: gone");
    assert_eq!(store.get_budget("other").await.unwrap(), Some((later, 2)));
}

fn message(id: &str, at: i64) -> CourierMessage {
    CourierMessage {
        id: id.into(),
        channel: Channel::Email,
        recipient: "a@example.com".into(),
        template: "login_code".into(),
        sealed: vec![1, 2, 3],
        status: MessageStatus::Queued,
        attempts: 0,
        next_attempt_at: at,
        created_at: at,
        last_error: None,
    }
}

async fn courier_messages_are_leased_once_retried_and_abandoned(store: Arc<dyn Store>) {
    store.insert_message(&message("m1", 10)).await.unwrap();
    store.insert_message(&message("m2", 20)).await.unwrap();
    assert!(
        store.claim_messages(5, 65, 10).await.unwrap().is_empty(),
        "not due"
    );
    // Two workers at once: each message goes to one of them.
    let (a, b) = tokio::join!(
        store.claim_messages(30, 90, 10),
        store.claim_messages(30, 90, 10)
    );
    let mut claimed: Vec<String> = a
        .unwrap()
        .into_iter()
        .chain(b.unwrap())
        .map(|m| m.id)
        .collect();
    claimed.sort();
    assert_eq!(claimed, ["m1", "m2"]);
    store.mark_message_sent("m1").await.unwrap();
    store
        .mark_message_failed("m2", "connection refused", Some(100))
        .await
        .unwrap();
    assert!(
        store.claim_messages(95, 150, 10).await.unwrap().is_empty(),
        "leased, then backing off"
    );
    let again = store.claim_messages(100, 160, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].attempts, again[0].sealed.as_slice()),
        (2, [1u8, 2, 3].as_slice())
    );
    store
        .mark_message_failed("m2", "still down", None)
        .await
        .unwrap();
    let m2 = store.get_message("m2").await.unwrap().unwrap();
    assert_eq!(m2.status, MessageStatus::Abandoned);
    assert_eq!(m2.last_error.as_deref(), Some("still down"));
    assert_eq!(
        store.get_message("m1").await.unwrap().unwrap().status,
        MessageStatus::Sent
    );
    assert!(
        store
            .claim_messages(10_000, 10_060, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_token_inserts_all_land_and_a_bad_one_fails_alone(store: Arc<dyn Store>) {
    store
        .insert_tokens(&[refresh("taken", 1000)])
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = store.clone();
        // Request 50 reuses an existing hash: it must fail, the rest not.
        let hash = if i == 50 {
            "taken".to_owned()
        } else {
            format!("t-{i}")
        };
        tasks.push(tokio::spawn(async move {
            s.insert_tokens(&[refresh(&hash, 1000)]).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        assert_eq!(result.is_err(), i == 50, "request {i}: {result:?}");
    }
    for i in (0..100).filter(|i| *i != 50) {
        assert!(
            store
                .get_token(TokenKind::Refresh, &format!("t-{i}"), 1)
                .await
                .unwrap()
                .is_some(),
            "t-{i}"
        );
    }
}

fn link(provider: &str, subject: &str, identity_id: &str) -> ExternalIdentity {
    ExternalIdentity {
        provider: provider.into(),
        subject: subject.into(),
        identity_id: identity_id.into(),
        created_at: 7,
    }
}

async fn external_identities_link_once_and_go_with_their_identity(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    store
        .insert_identity(&identity("b", "bob@example.com"))
        .await
        .unwrap();
    let github = link("github", "12345", "a");
    store.insert_external_identity(&github).await.unwrap();
    // One identity, several upstream accounts; the same subject at another
    // provider is another account.
    store
        .insert_external_identity(&link("corp", "12345", "a"))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .insert_external_identity(&link("github", "12345", "b"))
                .await,
            Err(StoreError::Conflict)
        ),
        "an upstream account links to one identity only"
    );
    assert!(
        store
            .insert_external_identity(&link("github", "999", "nobody"))
            .await
            .is_err(),
        "a link needs an existing identity"
    );
    assert_eq!(
        store
            .get_external_identity("github", "12345")
            .await
            .unwrap(),
        Some(github)
    );
    assert_eq!(
        store.get_external_identity("github", "999").await.unwrap(),
        None
    );
    assert!(store.delete_identity("a").await.unwrap());
    assert_eq!(
        store
            .get_external_identity("github", "12345")
            .await
            .unwrap(),
        None,
        "deleting an identity deletes its links"
    );
    store
        .insert_external_identity(&link("github", "12345", "b"))
        .await
        .unwrap();
}

async fn tokens_are_read_with_their_identity(store: Arc<dyn Store>) {
    let alice = identity("s", "alice@example.com");
    store.insert_identity(&alice).await.unwrap();
    let client_token = Token {
        subject: None,
        ..refresh("client", 100)
    };
    let orphan = Token {
        subject: Some("gone".into()),
        ..refresh("orphan", 100)
    };
    store
        .insert_tokens(&[refresh("user", 100), client_token.clone(), orphan.clone()])
        .await
        .unwrap();
    let read = |hash: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .get_token_with_identity(TokenKind::Refresh, hash, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        read("user", 1).await,
        Some((refresh("user", 100), Some(alice)))
    );
    assert_eq!(read("client", 1).await, Some((client_token, None)));
    assert_eq!(read("orphan", 1).await, Some((orphan, None)));
    // The same rules as get_token: expiry, kind and revocation hide it.
    assert_eq!(read("user", 100).await, None);
    assert_eq!(
        store
            .get_token_with_identity(TokenKind::Access, "user", 1)
            .await
            .unwrap(),
        None
    );
    store.revoke_token("user", 2).await.unwrap();
    assert_eq!(read("user", 3).await, None);
}

async fn a_client_and_a_token_are_read_together(store: Arc<dyn Store>) {
    let alice = identity("s", "alice@example.com");
    store.insert_identity(&alice).await.unwrap();
    let mut web = client("web");
    store.insert_client(&web).await.unwrap();
    store.insert_tokens(&[refresh("user", 100)]).await.unwrap();
    let read = |client_id: &'static str, token: Option<&'static str>, now: i64| {
        let store = store.clone();
        async move {
            store
                .get_client_and_token(client_id, token.map(|h| (TokenKind::Refresh, h)), now)
                .await
                .unwrap()
        }
    };
    let user_token = Some((refresh("user", 100), Some(alice)));
    assert_eq!(
        read("web", Some("user"), 1).await,
        (Some(web.clone()), user_token.clone())
    );
    // Either may be missing without hiding the other.
    assert_eq!(read("nobody", Some("user"), 1).await, (None, user_token));
    assert_eq!(read("web", None, 1).await, (Some(web.clone()), None));
    assert_eq!(
        read("web", Some("unknown"), 1).await,
        (Some(web.clone()), None)
    );
    // The token follows get_token_with_identity's rules: expiry hides it.
    assert_eq!(
        read("web", Some("user"), 100).await,
        (Some(web.clone()), None)
    );
    // Every read sees what was committed before it: no pooled connection
    // is left holding an old snapshot (several reads, so each is reused).
    store.revoke_token("user", 2).await.unwrap();
    web.client_name = "Renamed".into();
    web.updated_at = 2;
    assert!(store.update_client(&web).await.unwrap());
    for _ in 0..8 {
        assert_eq!(
            read("web", Some("user"), 3).await,
            (Some(web.clone()), None)
        );
    }
}

async fn revoking_an_identitys_access_ends_its_tokens_and_other_sessions(store: Arc<dyn Store>) {
    for (id, email) in [("s", "s@example.com"), ("o", "o@example.com")] {
        store
            .insert_identity(&identity_with(id, Some(email), None, None))
            .await
            .unwrap();
    }
    for (id, owner) in [("keep", "s"), ("end", "s"), ("other", "o")] {
        store
            .insert_session(&session_at(id, owner, 1))
            .await
            .unwrap();
    }
    let mut access = refresh("at", 1000);
    access.kind = TokenKind::Access;
    let mut others = refresh("rt-o", 1000);
    others.subject = Some("o".into());
    others.grant_id = "other-family".into();
    store
        .insert_tokens(&[refresh("rt", 1000), access, others])
        .await
        .unwrap();
    assert_eq!(
        store
            .revoke_identity_access("s", Some("keep"), 5)
            .await
            .unwrap(),
        1,
        "one other session ended"
    );
    assert!(store.get_session("h-keep", 6).await.unwrap().is_some());
    assert!(store.get_session("h-end", 6).await.unwrap().is_none());
    for (kind, hash) in [(TokenKind::Refresh, "rt"), (TokenKind::Access, "at")] {
        assert!(
            store.get_token(kind, hash, 6).await.unwrap().is_none(),
            "{hash} revoked"
        );
    }
    // Another identity keeps its session and tokens.
    assert!(store.get_session("h-other", 6).await.unwrap().is_some());
    assert!(
        store
            .get_token(TokenKind::Refresh, "rt-o", 6)
            .await
            .unwrap()
            .is_some()
    );
    // Without a session to keep, every session ends.
    assert_eq!(store.revoke_identity_access("s", None, 7).await.unwrap(), 1);
    assert!(store.get_session("h-keep", 8).await.unwrap().is_none());
}

async fn deleting_a_client_deletes_its_tokens(store: Arc<dyn Store>) {
    store.insert_client(&client("c")).await.unwrap();
    store.insert_client(&client("d")).await.unwrap();
    let mut access = refresh("at", 1000);
    access.kind = TokenKind::Access;
    let mut others = refresh("rt-d", 1000);
    others.client_id = "d".into();
    others.grant_id = "d-family".into();
    store
        .insert_tokens(&[refresh("rt", 1000), access, others])
        .await
        .unwrap();
    assert!(store.delete_client("c").await.unwrap());
    for (kind, hash) in [(TokenKind::Refresh, "rt"), (TokenKind::Access, "at")] {
        assert!(
            store.get_token(kind, hash, 6).await.unwrap().is_none(),
            "{hash} went with its client"
        );
    }
    assert!(
        store
            .get_token(TokenKind::Refresh, "rt-d", 6)
            .await
            .unwrap()
            .is_some(),
        "another client's token stays"
    );
    assert!(!store.delete_client("c").await.unwrap());
}

fn device_code(id: &str) -> DeviceCode {
    DeviceCode {
        id: id.into(),
        device_code_hash: format!("dc-{id}"),
        user_code_hash: format!("uc-{id}"),
        client_id: "tv".into(),
        scope: vec!["openid".into(), "offline".into()],
        state: DeviceCodeState::Pending,
        subject: None,
        session_id: None,
        granted_scope: vec![],
        amr: vec![],
        auth_time: None,
        interval_secs: 5,
        last_polled_at: None,
        created_at: 100,
        expires_at: 700,
        version: 0,
    }
}

async fn device_codes_are_found_by_either_hash_and_answered_once(store: Arc<dyn Store>) {
    store.insert_client(&client("tv")).await.unwrap();
    store
        .insert_identity(&identity("u", "u@example.com"))
        .await
        .unwrap();
    let d = device_code("d1");
    store.insert_device_code(&d).await.unwrap();
    assert_eq!(
        store.get_device_code("dc-d1").await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(
        store.get_device_code_by_user_code("uc-d1").await.unwrap(),
        Some(d.clone())
    );
    assert_eq!(store.get_device_code("uc-d1").await.unwrap(), None);
    // A user code is unique: a clash is a Conflict the caller retries.
    let mut clash = device_code("d2");
    clash.user_code_hash = "uc-d1".into();
    assert!(matches!(
        store.insert_device_code(&clash).await,
        Err(StoreError::Conflict)
    ));

    let mut approved = d.clone();
    approved.state = DeviceCodeState::Approved;
    approved.subject = Some("u".into());
    approved.session_id = Some("s1".into());
    approved.granted_scope = vec!["openid".into()];
    approved.amr = vec!["pwd".into()];
    approved.auth_time = Some(150);
    assert!(store.update_device_code(&approved, &[]).await.unwrap());
    // Written from the same (now stale) version: refused.
    let mut denied = d.clone();
    denied.state = DeviceCodeState::Denied;
    assert!(!store.update_device_code(&denied, &[]).await.unwrap());
    let stored = store.get_device_code("dc-d1").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    approved.version = 1;
    assert_eq!(stored, approved);
}

async fn a_device_code_yields_its_tokens_once_under_concurrency(store: Arc<dyn Store>) {
    store.insert_client(&client("tv")).await.unwrap();
    store
        .insert_identity(&identity("u", "u@example.com"))
        .await
        .unwrap();
    let mut d = device_code("d");
    d.state = DeviceCodeState::Approved;
    d.subject = Some("u".into());
    store.insert_device_code(&d).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (s, d) = (store.clone(), d.clone());
        tasks.push(tokio::spawn(async move {
            let mut used = d;
            used.state = DeviceCodeState::Used;
            used.last_polled_at = Some(200);
            let mut token = refresh(&format!("t{i}"), 10_000);
            token.grant_id = "d".into();
            token.client_id = "tv".into();
            token.subject = Some("u".into());
            s.update_device_code(&used, &[token]).await.unwrap()
        }));
    }
    let mut won = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if t.await.unwrap() {
            won.push(i);
        }
    }
    assert_eq!(won.len(), 1, "exactly one poll takes the tokens");
    for i in 0..10 {
        let stored = store
            .get_token(TokenKind::Refresh, &format!("t{i}"), 300)
            .await
            .unwrap();
        assert_eq!(stored.is_some(), won == [i], "token t{i}");
    }
    let stored = store.get_device_code("dc-d").await.unwrap().unwrap();
    assert_eq!(stored.state, DeviceCodeState::Used);
}

async fn device_codes_go_with_their_client_and_expire(store: Arc<dyn Store>) {
    store.insert_client(&client("tv")).await.unwrap();
    store.insert_device_code(&device_code("a")).await.unwrap();
    let mut late = device_code("b");
    late.expires_at = 5_000;
    store.insert_device_code(&late).await.unwrap();
    store.delete_expired(1_000, 0, 10).await.unwrap();
    assert_eq!(store.get_device_code("dc-a").await.unwrap(), None);
    assert!(store.get_device_code("dc-b").await.unwrap().is_some());
    assert!(store.delete_client("tv").await.unwrap());
    assert_eq!(store.get_device_code("dc-b").await.unwrap(), None);
}

async fn platform_tokens_live_until_expiry_and_the_newest_wins(store: Arc<dyn Store>) {
    assert_eq!(
        store.get_platform_token("wechat:wx1", 1).await.unwrap(),
        None
    );
    store
        .put_platform_token("wechat:wx1", b"sealed-1", 100)
        .await
        .unwrap();
    let read = |key: &'static str, now: i64| {
        let store = store.clone();
        async move { store.get_platform_token(key, now).await.unwrap() }
    };
    assert_eq!(read("wechat:wx1", 99).await, Some(b"sealed-1".to_vec()));
    assert_eq!(read("wechat:wx1", 100).await, None, "expired");
    assert_eq!(read("wechat:wx2", 1).await, None, "per app");
    store
        .put_platform_token("wechat:wx1", b"sealed-2", 200)
        .await
        .unwrap();
    assert_eq!(read("wechat:wx1", 150).await, Some(b"sealed-2".to_vec()));
}

async fn merging_an_identity_moves_its_links_and_ends_its_access(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("s", "alice@example.com"))
        .await
        .unwrap();
    store
        .insert_identity(&identity("into", "alice2@example.com"))
        .await
        .unwrap();
    for l in [
        link("wechat:union", "u1", "s"),
        link("wechat:wx1", "o1", "s"),
    ] {
        store.insert_external_identity(&l).await.unwrap();
    }
    store.insert_tokens(&[refresh("t", 100)]).await.unwrap();
    store.insert_session(&session("x", "s", 100)).await.unwrap();
    assert!(store.merge_identity("s", "into").await.unwrap());
    for (provider, subject) in [("wechat:union", "u1"), ("wechat:wx1", "o1")] {
        let moved = store
            .get_external_identity(provider, subject)
            .await
            .unwrap();
        assert_eq!(moved.unwrap().identity_id, "into", "{provider}");
    }
    assert_eq!(store.get_identity("s").await.unwrap(), None);
    assert_eq!(
        store.get_token(TokenKind::Refresh, "t", 1).await.unwrap(),
        None,
        "the merged identity's tokens are gone"
    );
    assert!(store.list_sessions("s", 1).await.unwrap().is_empty());
    assert!(!store.merge_identity("s", "into").await.unwrap(), "once");
}

// TOTP and recovery codes (issue 17).

fn totp(identity_id: &str, id: &str) -> TotpSecret {
    TotpSecret {
        identity_id: identity_id.into(),
        id: id.into(),
        sealed: format!("sealed-{id}").into_bytes(),
        confirmed_at: None,
        last_step: 0,
        created_at: 1,
    }
}

async fn totp_enrolment_replaces_only_an_unconfirmed_secret(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    assert_eq!(store.get_totp("a").await.unwrap(), None);
    assert!(store.put_totp_enrolment(&totp("a", "s1")).await.unwrap());
    assert!(
        store.put_totp_enrolment(&totp("a", "s2")).await.unwrap(),
        "an unconfirmed secret is replaced"
    );
    assert_eq!(store.get_totp("a").await.unwrap(), Some(totp("a", "s2")));
    assert!(
        !store
            .accept_totp_step("a", "s1", 10, true, 5)
            .await
            .unwrap(),
        "a confirmation of the replaced secret"
    );
    assert!(
        !store
            .accept_totp_step("a", "s2", 10, false, 5)
            .await
            .unwrap(),
        "a use of an unconfirmed secret"
    );
    assert!(
        store
            .accept_totp_step("a", "s2", 10, true, 5)
            .await
            .unwrap()
    );
    let confirmed = store.get_totp("a").await.unwrap().unwrap();
    assert_eq!((confirmed.confirmed_at, confirmed.last_step), (Some(5), 10));
    assert!(
        !store.put_totp_enrolment(&totp("a", "s3")).await.unwrap(),
        "a confirmed secret stays"
    );
    assert_eq!(store.get_totp("a").await.unwrap(), Some(confirmed));
    assert!(store.delete_totp("a").await.unwrap());
    assert!(!store.delete_totp("a").await.unwrap());
    assert!(store.put_totp_enrolment(&totp("a", "s4")).await.unwrap());
    store.delete_identity("a").await.unwrap();
    assert_eq!(
        store.get_totp("a").await.unwrap(),
        None,
        "gone with the identity"
    );
}

async fn totp_steps_are_accepted_once_even_under_concurrency(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    store.put_totp_enrolment(&totp("a", "s")).await.unwrap();
    assert!(
        store
            .accept_totp_step("a", "s", 100, true, 1)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accept_totp_step("a", "s", 100, true, 2)
            .await
            .unwrap(),
        "confirmed once"
    );
    let tries = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .accept_totp_step("a", "s", 101, false, 2)
                .await
                .unwrap()
        })
    });
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one of the concurrent uses of a step wins");
    assert!(
        !store
            .accept_totp_step("a", "s", 100, false, 3)
            .await
            .unwrap(),
        "an older step after a newer one"
    );
    assert!(
        store
            .accept_totp_step("a", "s", 102, false, 3)
            .await
            .unwrap()
    );
    let t = store.get_totp("a").await.unwrap().unwrap();
    assert_eq!((t.confirmed_at, t.last_step), (Some(1), 102));
}

async fn recovery_codes_are_single_use_even_under_concurrency_and_replaced_as_a_set(
    store: Arc<dyn Store>,
) {
    for (id, email) in [("a", "alice@example.com"), ("b", "bob@example.com")] {
        store.insert_identity(&identity(id, email)).await.unwrap();
    }
    assert_eq!(store.recovery_codes_left("a").await.unwrap(), 0);
    let first: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    store.replace_recovery_codes("a", &first, 1).await.unwrap();
    store
        .replace_recovery_codes("b", &["h0".to_owned()], 1)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left("a").await.unwrap(), 10);
    let tries = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.use_recovery_code("a", "h0", 2).await.unwrap() })
    });
    let mut won = 0;
    for t in tries {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1, "one of the concurrent uses of a code wins");
    assert_eq!(store.recovery_codes_left("a").await.unwrap(), 9);
    assert_eq!(
        store.recovery_codes_left("b").await.unwrap(),
        1,
        "another identity's code of the same hash is its own"
    );
    assert!(!store.use_recovery_code("a", "nope", 2).await.unwrap());
    let second = vec!["n0".to_owned(), "n1".to_owned()];
    store.replace_recovery_codes("a", &second, 3).await.unwrap();
    assert!(
        !store.use_recovery_code("a", "h1", 4).await.unwrap(),
        "the old set is gone"
    );
    assert!(store.use_recovery_code("a", "n1", 4).await.unwrap());
    assert_eq!(store.recovery_codes_left("a").await.unwrap(), 1);
    store.delete_identity("a").await.unwrap();
    assert_eq!(store.recovery_codes_left("a").await.unwrap(), 0);
}

// Passkeys (issue 17).

fn passkey(id: &str, identity_id: &str, credential_id: &str, at: i64) -> StoredPasskey {
    StoredPasskey {
        id: id.into(),
        identity_id: identity_id.into(),
        credential_id: credential_id.into(),
        name: format!("key {id}"),
        passkey: format!(r#"{{"cred":{{"counter":0,"id":"{credential_id}"}}}}"#),
        created_at: at,
        last_used_at: None,
    }
}

fn ceremony(id: &str, identity_id: Option<&str>, expires_at: i64) -> WebauthnCeremony {
    WebauthnCeremony {
        id: id.into(),
        kind: CeremonyKind::Registration,
        identity_id: identity_id.map(Into::into),
        state: format!(r#"{{"challenge":"{id}"}}"#),
        expires_at,
    }
}

async fn passkeys_are_unique_by_credential_and_belong_to_their_identity(store: Arc<dyn Store>) {
    for (id, email) in [("a", "alice@example.com"), ("b", "bob@example.com")] {
        store.insert_identity(&identity(id, email)).await.unwrap();
    }
    store
        .insert_passkey(&passkey("p2", "a", "cred-2", 20))
        .await
        .unwrap();
    store
        .insert_passkey(&passkey("p1", "a", "cred-1", 10))
        .await
        .unwrap();
    assert!(
        matches!(
            store
                .insert_passkey(&passkey("p3", "b", "cred-1", 30))
                .await,
            Err(StoreError::Conflict)
        ),
        "a credential belongs to one identity"
    );
    let listed = store.list_passkeys("a").await.unwrap();
    assert_eq!(
        listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p1", "p2"],
        "oldest first"
    );
    assert_eq!(listed[0], passkey("p1", "a", "cred-1", 10));
    assert!(store.list_passkeys("b").await.unwrap().is_empty());
    let found = store.get_passkey_by_credential("cred-2").await.unwrap();
    assert_eq!(found.map(|p| p.identity_id), Some("a".to_owned()));
    assert_eq!(store.get_passkey_by_credential("nope").await.unwrap(), None);

    assert!(
        !store.rename_passkey("b", "p1", "stolen").await.unwrap(),
        "not bob's"
    );
    assert!(store.rename_passkey("a", "p1", "laptop").await.unwrap());
    assert_eq!(store.list_passkeys("a").await.unwrap()[0].name, "laptop");
    assert!(!store.delete_passkey("b", "p1").await.unwrap(), "not bob's");
    assert!(store.delete_passkey("a", "p1").await.unwrap());
    assert!(!store.delete_passkey("a", "p1").await.unwrap(), "gone");
    assert_eq!(
        store.get_passkey_by_credential("cred-1").await.unwrap(),
        None
    );

    // Passkeys and ceremonies go with their identity.
    store
        .insert_ceremony(&ceremony("w", Some("a"), 100))
        .await
        .unwrap();
    assert!(store.delete_identity("a").await.unwrap());
    assert_eq!(
        store.get_passkey_by_credential("cred-2").await.unwrap(),
        None
    );
    assert_eq!(store.take_ceremony("w", 1).await.unwrap(), None);
}

async fn a_passkey_use_is_a_compare_and_swap(store: Arc<dyn Store>) {
    store
        .insert_identity(&identity("a", "alice@example.com"))
        .await
        .unwrap();
    let p = passkey("p", "a", "cred", 10);
    store.insert_passkey(&p).await.unwrap();
    let counted = |n: u32| format!(r#"{{"cred":{{"counter":{n},"id":"cred"}}}}"#);
    // Two sign-ins that both read counter 0: one records its use.
    let mut tasks = Vec::new();
    for n in 1..=6 {
        let (s, old, new) = (store.clone(), p.passkey.clone(), counted(n));
        tasks.push(tokio::spawn(async move {
            s.record_passkey_use("p", &old, &new, 50 + i64::from(n))
                .await
                .unwrap()
        }));
    }
    let mut won = Vec::new();
    for (n, t) in (1..=6).zip(tasks) {
        if t.await.unwrap() {
            won.push(n);
        }
    }
    assert_eq!(won.len(), 1, "exactly one use recorded: {won:?}");
    let stored = store
        .get_passkey_by_credential("cred")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.passkey, counted(won[0]));
    assert_eq!(stored.last_used_at, Some(50 + i64::from(won[0])));
    assert_eq!(stored.created_at, 10);
    assert!(
        !store
            .record_passkey_use("nope", &p.passkey, "{}", 9)
            .await
            .unwrap(),
        "unknown passkey"
    );
}

async fn ceremonies_are_taken_once_even_under_concurrency(store: Arc<dyn Store>) {
    let mut login = ceremony("c1", None, 100);
    login.kind = CeremonyKind::Login;
    store.insert_ceremony(&login).await.unwrap();
    assert!(matches!(
        store.insert_ceremony(&login).await,
        Err(StoreError::Conflict)
    ));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.take_ceremony("c1", 5).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken, [login], "one taker, with the state as stored");
    assert_eq!(
        store.take_ceremony("c1", 5).await.unwrap(),
        None,
        "replayed"
    );
    assert_eq!(store.take_ceremony("never", 5).await.unwrap(), None);
}

async fn expired_ceremonies_are_refused_and_cleaned(store: Arc<dyn Store>) {
    store
        .insert_ceremony(&ceremony("old", None, 100))
        .await
        .unwrap();
    store
        .insert_ceremony(&ceremony("late", None, 100))
        .await
        .unwrap();
    store
        .insert_ceremony(&ceremony("live", None, 500))
        .await
        .unwrap();
    assert_eq!(
        store.take_ceremony("late", 100).await.unwrap(),
        None,
        "expired at its expiry"
    );
    assert_eq!(
        store.delete_expired(101, 0, 10).await.unwrap(),
        1,
        "the old one"
    );
    assert_eq!(
        store.take_ceremony("old", 1).await.unwrap(),
        None,
        "cleaned"
    );
    assert_eq!(
        store
            .take_ceremony("live", 101)
            .await
            .unwrap()
            .map(|c| c.id),
        Some("live".to_owned())
    );
}
