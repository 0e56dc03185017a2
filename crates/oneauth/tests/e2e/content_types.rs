//! Media types of JSON bodies: the guide's endpoints that carry no cookie
//! take their JSON whatever the `Content-Type` (a `fetch` without headers
//! sends `text/plain`); endpoints that act on the session cookie keep
//! requiring `application/json`, which a cross-site form cannot send.

use crate::support::*;
use serde_json::{Value, json};

/// POSTs `body` as JSON text under `content_type` (`None`: no header).
async fn post_text(url: String, content_type: Option<&str>, body: &Value) -> reqwest::Response {
    post_text_with(&reqwest::Client::new(), url, content_type, body).await
}

async fn post_text_with(
    b: &reqwest::Client,
    url: String,
    content_type: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut req = b.post(url).body(body.to_string());
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn cookieless_endpoints_take_json_of_any_content_type() {
    let srv = TestServer::start().await;
    for content_type in [None, Some("text/plain;charset=UTF-8")] {
        let t = tokens(&srv, &browser()).await;
        let url = |path: &str| format!("{}{path}", srv.public);

        let res = post_text(
            url("/oauth/token/verify"),
            content_type,
            &json!({ "token": t["access_token"] }),
        )
        .await;
        assert_eq!(res.status(), 200, "{content_type:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["active"], true);

        let res = post_text(
            url("/api/oauth/refresh"),
            content_type,
            &json!({ "refresh_token": t["refresh_token"] }),
        )
        .await;
        assert_eq!(res.status(), 200, "{content_type:?}");
        let refreshed: Value = res.json().await.unwrap();

        let res = post_text(
            url("/api/oauth/logout"),
            content_type,
            &json!({
                "access_token": refreshed["access_token"],
                "refresh_token": refreshed["refresh_token"]
            }),
        )
        .await;
        assert!(
            res.status().is_success(),
            "{content_type:?}: {}",
            res.status()
        );
        assert!(!token_active(&srv, &refreshed["access_token"]).await);

        let cli = json!({
            "client_id": "web-app",
            "username": EMAIL,
            "password": PASSWORD,
            "code_verifier": VERIFIER,
            "scope": "openid offline"
        });
        let res = post_text(url("/oauth/native/cli"), content_type, &cli).await;
        assert_eq!(res.status(), 200, "{content_type:?}");
        // Not JSON at all is still the documented error.
        let res = reqwest::Client::new()
            .post(url("/oauth/native/cli"))
            .header("Content-Type", "text/plain")
            .body("username=alice")
            .send()
            .await
            .unwrap();
        error_code(res, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn cookie_endpoints_still_require_application_json() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    let exchange = json!({
        "client_id": "web-app",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_verifier": VERIFIER
    });
    let url = format!("{}/api/oauth/web/exchange", srv.public);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let res = post_text_with(&b, url.clone(), content_type, &exchange).await;
        assert_eq!(error_code(res, 415, "invalid_request").await, 4415);
    }
    let res = post_text_with(
        &b,
        format!("{}/api/identity/login/password", srv.public),
        Some("text/plain"),
        &json!({ "identifier": EMAIL, "password": PASSWORD }),
    )
    .await;
    assert_eq!(error_code(res, 415, "invalid_request").await, 4415);
}
