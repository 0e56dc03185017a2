//! RFC 6749 §3.3 scopes: parsed in linear time and capped (64 distinct
//! scopes, 2048 bytes) before anything else, since some endpoints parse them
//! before the client or the user is authenticated.

use crate::support::*;

/// `n` distinct made-up scope names.
fn distinct(n: usize) -> String {
    (0..n)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn invalid_scope(res: reqwest::Response) {
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope", "{body}");
    assert_eq!(body["code"], 4002, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("at most 64"),
        "the cap is named: {body}"
    );
}

#[tokio::test]
async fn a_huge_scope_is_refused_before_the_password_is_checked() {
    let srv = TestServer::start().await;
    // 59 KB of distinct scopes: within the body limit, quadratic to dedupe
    // the old way.
    let scope = distinct(10_000);
    assert!(scope.len() > 58_000);
    let started = std::time::Instant::now();
    let res = post_json(
        format!("{}/oauth/native/cli", srv.public),
        serde_json::json!({
            "client_id": "web-app",
            "username": EMAIL,
            "password": "not even checked",
            "code_verifier": VERIFIER,
            "scope": scope
        }),
    )
    .await;
    invalid_scope(res).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_scope_over_the_caps_is_invalid_scope_even_when_each_scope_is_allowed() {
    let srv = TestServer::start().await;
    let t = tokens(&srv, &browser()).await;
    let refresh = |scope: String| {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", srv.public))
            .form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", s(&t["refresh_token"])),
                ("client_id", "web-app".to_owned()),
                ("scope", scope),
            ])
            .send()
    };
    // Allowed scopes repeated past 2048 bytes.
    invalid_scope(refresh(["openid profile"; 200].join(" ")).await.unwrap()).await;
    // The same scopes once each are fine.
    assert_eq!(
        refresh("openid profile".into()).await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn the_authorization_endpoint_sends_too_many_scopes_back_as_invalid_scope() {
    let srv = TestServer::start().await;
    let res = browser()
        .get(srv.authorize_url(&[("scope", &distinct(65))]))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_scope"));
    assert!(
        query_param(&to, "error_description")
            .unwrap()
            .contains("at most 64")
    );
}
