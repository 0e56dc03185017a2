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
