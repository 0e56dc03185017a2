//! The guide's silent exchange: only same-origin or the client's own
//! registered origins, never cross-site.

use crate::support::*;

fn body() -> serde_json::Value {
    serde_json::json!({
        "client_id": "web-app",
        "redirect_uri": REDIRECT,
        "scope": "openid profile email offline",
        "code_verifier": VERIFIER
    })
}

#[tokio::test]
async fn cross_site_requests_are_forbidden() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    let url = format!("{}/api/oauth/web/exchange", srv.public);
    for origin in ["https://evil.example", "http://127.0.0.1:3001", "null"] {
        let res = b
            .post(&url)
            .header("Origin", origin)
            .json(&body())
            .send()
            .await
            .unwrap();
        let code = error_code(res, 403, "access_denied").await;
        assert!((3001..=3999).contains(&code), "{origin}: {code}");
    }
    // Another client's origin does not count for this client.
    let mut other = guide_client();
    other.client_id = Some("other-app".into());
    other.redirect_uris = vec!["https://other.example/cb".into()];
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let res = b
        .post(&url)
        .header("Origin", "https://other.example")
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 403, "access_denied").await, 3001);
    // Its own origin and OneAuth's are fine.
    for origin in ["http://127.0.0.1:3000", srv.public.as_str()] {
        let res = b
            .post(&url)
            .header("Origin", origin)
            .json(&body())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{origin}");
    }
}

#[tokio::test]
async fn cors_allows_exactly_the_registered_origins_with_credentials() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        c.request(
            reqwest::Method::OPTIONS,
            format!("{}/api/oauth/web/exchange", srv.public),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
    };
    let ok = preflight("http://127.0.0.1:3000").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "http://127.0.0.1:3000"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn no_session_no_tokens() {
    let srv = TestServer::start().await;
    let res = browser()
        .post(format!("{}/api/oauth/web/exchange", srv.public))
        .header("Origin", "http://127.0.0.1:3000")
        .json(&body())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
}

#[tokio::test]
async fn clients_without_skip_consent_need_a_remembered_consent() {
    let srv = TestServer::start().await;
    let mut third = guide_client();
    third.client_id = Some("third-party".into());
    third.skip_consent = false;
    srv.server()
        .create_client(third, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    let mut req = body();
    req["client_id"] = "third-party".into();
    let res = b
        .post(format!("{}/api/oauth/web/exchange", srv.public))
        .header("Origin", "http://127.0.0.1:3000")
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 403, "consent_required").await, 3004);
}
