//! RFC 6749 §4.1 authorization codes: single use, short-lived, bound to
//! client and redirect URI.

use crate::support::*;

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    let first: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    let at = first["access_token"].as_str().unwrap();
    let userinfo = || {
        reqwest::Client::new()
            .get(format!("{}/userinfo", srv.public))
            .bearer_auth(at)
            .send()
    };
    assert_eq!(userinfo().await.unwrap().status(), 200);

    assert_eq!(
        error_code(exchange(&srv, &code, VERIFIER).await, 400, "invalid_grant").await,
        4006
    );
    let res = userinfo().await.unwrap();
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(error_code(res, 401, "invalid_token").await, 2003);
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    srv.clock.advance(time::Duration::seconds(601));
    assert_eq!(
        error_code(exchange(&srv, &code, VERIFIER).await, 400, "invalid_grant").await,
        4006
    );
}

#[tokio::test]
async fn a_code_within_ten_minutes_is_good() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    srv.clock.advance(time::Duration::seconds(590));
    assert_eq!(exchange(&srv, &code, VERIFIER).await.status(), 200);
}

#[tokio::test]
async fn the_redirect_uri_must_match_the_authorization_request() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:3000/other"),
            ("client_id", "web-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn a_code_is_bound_to_its_client() {
    let srv = TestServer::start().await;
    let mut other = guide_client();
    other.client_id = Some("other-app".into());
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let code = login_for_code(&srv, &browser(), &[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "other-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn a_forged_code_is_invalid() {
    let srv = TestServer::start().await;
    let forged = format!("ory_ac_{}.{}", "A".repeat(43), "B".repeat(22));
    assert_eq!(
        error_code(
            exchange(&srv, &forged, VERIFIER).await,
            400,
            "invalid_grant"
        )
        .await,
        4006
    );
}
