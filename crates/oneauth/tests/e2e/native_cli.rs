//! The guide's CLI login: allowed clients only, one answer for every
//! credential failure, and brute force limited per identifier and per IP.

use crate::support::*;

fn body(username: &str, password: &str) -> serde_json::Value {
    serde_json::json!({
        "client_id": "web-app",
        "username": username,
        "password": password,
        "code_verifier": VERIFIER,
        "scope": "openid profile offline"
    })
}

#[tokio::test]
async fn wrong_credentials_get_one_answer_whether_the_user_exists_or_not() {
    let srv = TestServer::start().await;
    let url = format!("{}/oauth/native/cli", srv.public);
    let known = post_json(url.clone(), body(EMAIL, "wrong password")).await;
    assert_eq!(known.status(), 401);
    let known = known.text().await.unwrap();
    let unknown = post_json(url.clone(), body("nobody@example.com", "wrong password")).await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(known, unknown.text().await.unwrap());
    let v: serde_json::Value = serde_json::from_str(&known).unwrap();
    assert_eq!(v["code"], 2002);
}

#[tokio::test]
async fn only_clients_that_allow_it() {
    let srv = TestServer::start().await;
    let mut other = guide_client();
    other.client_id = Some("no-cli".into());
    other.native_cli_login = false;
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let mut req = body(EMAIL, PASSWORD);
    req["client_id"] = "no-cli".into();
    let res = post_json(format!("{}/oauth/native/cli", srv.public), req).await;
    assert_eq!(error_code(res, 400, "unauthorized_client").await, 4014);
}

#[tokio::test]
async fn brute_force_is_limited_per_identifier_with_retry_after() {
    let srv = TestServer::start_with(|c| c.limits.login_per_identifier_per_minute = 3).await;
    let url = format!("{}/oauth/native/cli", srv.public);
    for _ in 0..3 {
        assert_eq!(
            post_json(url.clone(), body(EMAIL, "guess")).await.status(),
            401
        );
    }
    let res = post_json(url.clone(), body(EMAIL, PASSWORD)).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["error"], "rate_limited");
    assert!(v.get("code").is_none(), "429 has no numeric code: {v}");
    // Case games do not buy more attempts.
    assert_eq!(
        post_json(url, body(&EMAIL.to_uppercase(), PASSWORD))
            .await
            .status(),
        429
    );
}

#[tokio::test]
async fn brute_force_is_limited_per_ip() {
    let srv = TestServer::start_with(|c| c.limits.login_per_ip_per_minute = 2).await;
    let url = format!("{}/oauth/native/cli", srv.public);
    assert_eq!(
        post_json(url.clone(), body("a@example.com", "x"))
            .await
            .status(),
        401
    );
    assert_eq!(
        post_json(url.clone(), body("b@example.com", "x"))
            .await
            .status(),
        401
    );
    assert_eq!(
        post_json(url, body("c@example.com", "x")).await.status(),
        429
    );
}

#[tokio::test]
async fn the_ui_login_form_is_limited_too() {
    let srv = TestServer::start_with(|c| c.limits.login_per_identifier_per_minute = 1).await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let login = location(&res);
    assert_eq!(submit_login(&b, &login, "wrong").await.status(), 401);
    let res = submit_login(&b, &login, PASSWORD).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
}
