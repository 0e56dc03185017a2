//! Store behaviour every backend must show. Runs on SQLite; the PostgreSQL
//! store joins this suite when it exists.

use oneauth_store::*;
use std::sync::Arc;

async fn sqlite() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = open(&url).await.unwrap();
    (dir, store)
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

#[tokio::test]
async fn take_code_is_single_use_even_under_concurrency() {
    let (_d, store) = sqlite().await;
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

#[tokio::test]
async fn tokens_expire_and_revoke_by_grant() {
    let (_d, store) = sqlite().await;
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

#[tokio::test]
async fn flows_advance_only_from_the_expected_state() {
    let (_d, store) = sqlite().await;
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

#[tokio::test]
async fn client_origins_follow_redirect_uris() {
    let (_d, store) = sqlite().await;
    let mut c = Client {
        client_id: "web".into(),
        client_name: "Web".into(),
        secret_hash: None,
        redirect_uris: vec![
            "http://App.example:3000/cb?x=1".into(),
            "com.example.app:/cb".into(),
        ],
        grant_types: vec!["authorization_code".into()],
        response_types: vec!["code".into()],
        scope: vec!["openid".into()],
        token_endpoint_auth_method: "none".into(),
        post_logout_redirect_uris: vec![],
        skip_consent: true,
        id_token_signed_response_alg: None,
        access_token_strategy: None,
        native_cli_login: false,
        created_at: 1,
        updated_at: 1,
    };
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
    assert_eq!(store.get_client("web").await.unwrap().unwrap(), c);
    assert!(store.delete_client("web").await.unwrap());
    assert!(
        !store
            .is_client_origin("https://other.example")
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

#[tokio::test]
async fn refresh_rotation_is_a_compare_and_swap_with_a_grace_window() {
    let (_d, store) = sqlite().await;
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

#[tokio::test]
async fn expired_rows_are_deleted_in_batches() {
    let (_d, store) = sqlite().await;
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

#[tokio::test]
async fn disabling_an_identity_revokes_its_sessions_and_tokens() {
    let (_d, store) = sqlite().await;
    let identity = Identity {
        id: "s".into(),
        traits: Traits {
            email: "s@example.com".into(),
            name: None,
            email_verified: false,
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

#[tokio::test]
async fn rate_limit_hits_count_per_window_and_concurrently() {
    let (_d, store) = sqlite().await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(
            async move { s.hit("k", 60, 180).await.unwrap() },
        ));
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
        store.hit("k", 120, 240).await.unwrap(),
        1,
        "a new window starts over"
    );
    assert_eq!(store.hit("other", 120, 240).await.unwrap(), 1);
}
