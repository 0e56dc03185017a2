//! RFC 7636 PKCE: S256 only, required for public clients, verified at the
//! token endpoint.

use crate::support::*;

async fn authorize_error(srv: &TestServer, extra: &[(&str, &str)]) -> String {
    let res = browser()
        .get(srv.authorize_url(extra))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(
        to.starts_with(REDIRECT),
        "errors after redirect URI verification go to the client: {to}"
    );
    assert_eq!(query_param(&to, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(&to, "iss").as_deref(),
        Some(srv.public.as_str())
    );
    to
}

#[tokio::test]
async fn rejects_plain_code_challenge_method() {
    let srv = TestServer::start().await;
    let to = authorize_error(
        &srv,
        &[
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn rejects_a_challenge_without_method_as_plain() {
    let srv = TestServer::start().await;
    let to = authorize_error(&srv, &[("code_challenge_method", "")]).await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn public_clients_must_send_a_challenge() {
    let srv = TestServer::start().await;
    let to = authorize_error(
        &srv,
        &[("code_challenge", ""), ("code_challenge_method", "")],
    )
    .await;
    assert_eq!(
        query_param(&to, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        query_param(&to, "error_description")
            .unwrap()
            .contains("PKCE")
    );
}

#[tokio::test]
async fn rejects_a_wrong_verifier() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    let wrong = "x".repeat(43);
    assert_eq!(
        error_code(exchange(&srv, &code, &wrong).await, 400, "invalid_grant").await,
        4006
    );
    // The failed attempt spent the code: a guessed verifier gets one try.
    assert_eq!(
        error_code(exchange(&srv, &code, VERIFIER).await, 400, "invalid_grant").await,
        4006
    );
}

#[tokio::test]
async fn rejects_a_missing_verifier() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "web-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}
