//! RFC 6749 §6 refresh with rotation on every use (RFC 9700 §4.14.2), a
//! grace window for retries, and family revocation on reuse.

use crate::support::*;
use time::Duration;

async fn refresh(srv: &TestServer, rt: &str) -> reqwest::Response {
    post_json(
        format!("{}/api/oauth/refresh", srv.public),
        serde_json::json!({ "refresh_token": rt }),
    )
    .await
}

async fn verify(srv: &TestServer, at: &serde_json::Value) -> bool {
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": at }),
    )
    .await
    .json()
    .await
    .unwrap();
    v["active"] == true
}

#[tokio::test]
async fn fifty_concurrent_refreshes_of_one_token_give_one_successor_and_no_5xx() {
    let srv = TestServer::start().await;
    let first = tokens(&srv, &browser()).await;
    let rt = s(&first["refresh_token"]);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let url = format!("{}/oauth2/token", srv.public);
        let rt = rt.clone();
        tasks.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("client_id", "web-app"),
                ])
                .send()
                .await
                .unwrap()
        }));
    }
    let mut successors = std::collections::HashSet::new();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let body: serde_json::Value = res.json().await.unwrap();
        successors.insert(s(&body["refresh_token"]));
    }
    assert_eq!(successors.len(), 1, "one successor pair for every racer");
    let next = successors.into_iter().next().unwrap();
    assert_eq!(
        refresh(&srv, &next).await.status(),
        200,
        "the successor works"
    );
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_gets_the_same_pair() {
    let srv = TestServer::start().await;
    let first = tokens(&srv, &browser()).await;
    let a: serde_json::Value = refresh(&srv, &s(&first["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    srv.clock.advance(Duration::seconds(4));
    let b: serde_json::Value = refresh(&srv, &s(&first["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
    assert!(verify(&srv, &a["access_token"]).await);
}

#[tokio::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_family() {
    let srv = TestServer::start().await;
    let first = tokens(&srv, &browser()).await;
    let second: serde_json::Value = refresh(&srv, &s(&first["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    let third: serde_json::Value = refresh(&srv, &s(&second["refresh_token"]))
        .await
        .json()
        .await
        .unwrap();
    srv.clock.advance(Duration::seconds(6));
    let res = refresh(&srv, &s(&first["refresh_token"])).await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    for at in [
        &first["access_token"],
        &second["access_token"],
        &third["access_token"],
    ] {
        assert!(
            !verify(&srv, at).await,
            "every access token of the family is revoked"
        );
    }
    assert_eq!(
        error_code(
            refresh(&srv, &s(&third["refresh_token"])).await,
            400,
            "invalid_grant"
        )
        .await,
        4006
    );
}

#[tokio::test]
async fn rotation_kills_the_old_token_for_introspection_and_scope_can_only_narrow() {
    let srv = TestServer::start().await;
    let first = tokens(&srv, &browser()).await;
    let c = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        c.post(format!("{}/oauth2/token", srv.public))
            .form(&form)
            .send()
    };
    let base = |rt: &serde_json::Value, scope: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", s(rt)),
            ("client_id", "web-app".to_owned()),
            ("scope", scope.to_owned()),
        ]
    };
    let res = token(base(&first["refresh_token"], "openid offline admin"))
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_scope").await, 4002);
    let res = token(base(&first["refresh_token"], "openid offline"))
        .await
        .unwrap();
    let narrow: serde_json::Value = res.json().await.unwrap();
    assert_eq!(narrow["scope"], "openid offline");
    let v: serde_json::Value = c
        .post(format!("{}/oauth2/introspect", srv.public))
        .form(&[
            ("token", s(&first["refresh_token"])),
            ("client_id", "web-app".into()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"active": false}),
        "a rotated refresh token is not live"
    );
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client_and_expires() {
    let srv = TestServer::start().await;
    let mut other = guide_client();
    other.client_id = Some("other-app".into());
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let first = tokens(&srv, &browser()).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&first["refresh_token"])),
            ("client_id", "other-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    srv.clock.advance(Duration::days(31));
    assert_eq!(
        error_code(
            refresh(&srv, &s(&first["refresh_token"])).await,
            400,
            "invalid_grant"
        )
        .await,
        4006
    );
}

#[tokio::test]
async fn the_json_refresh_endpoint_refuses_confidential_clients_tokens() {
    let srv = TestServer::start().await;
    let mut backend = guide_client();
    backend.client_id = Some("backend".into());
    backend.token_endpoint_auth_method = Some("client_secret_basic".into());
    backend.client_secret = Some("backend-secret-0123456789".into());
    srv.server()
        .create_client(backend, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let code = login_for_code(&srv, &browser(), &[("client_id", "backend")]).await;
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .basic_auth("backend", Some("backend-secret-0123456789"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rt = s(&body["refresh_token"]);
    assert_eq!(
        error_code(refresh(&srv, &rt).await, 401, "invalid_client").await,
        2001
    );

    let res = refresh(&srv, "ory_rt_forged.token").await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    let res = reqwest::Client::new()
        .post(format!("{}/api/oauth/refresh", srv.public))
        .header("content-type", "application/json")
        .body("{\"refresh_token\": 5}")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
}
