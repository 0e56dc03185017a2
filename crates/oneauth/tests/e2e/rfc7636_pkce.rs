//! RFC 7636 PKCE: S256 only, required from every client of the code flow
//! (RFC 9700 §2.1.1; a confidential legacy back end may be registered with
//! `allow_no_pkce`), verified at the token endpoint.

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

/// The error a request without PKCE gets, at the client's redirect URI.
fn assert_pkce_required(to: &str) {
    assert_eq!(query_param(to, "error").as_deref(), Some("invalid_request"));
    assert!(
        query_param(to, "error_description")
            .unwrap()
            .contains("PKCE")
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
    assert_pkce_required(&to);
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

const BACKEND_SECRET: &str = "backend-secret-0123456789";

/// A confidential client of the code flow (RFC 9700 §2.1.1 wants PKCE from
/// it too), registered through the admin API, with or without the legacy
/// opt-out; the admin API shows the flag.
async fn confidential_client(srv: &TestServer, id: &str, allow_no_pkce: bool) {
    let c = reqwest::Client::new();
    let res = c
        .post(format!("{}/admin/clients", srv.admin))
        .json(&serde_json::json!({
            "client_id": id,
            "client_secret": BACKEND_SECRET,
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
            "scope": "openid profile email offline",
            "token_endpoint_auth_method": "client_secret_basic",
            "skip_consent": true,
            "allow_no_pkce": allow_no_pkce
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let shown: serde_json::Value = c
        .get(format!("{}/admin/clients/{id}", srv.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["allow_no_pkce"], allow_no_pkce, "{shown}");
}

/// The confidential client's code exchange, with its secret.
async fn backend_exchange(
    srv: &TestServer,
    id: &str,
    code: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend(verifier.map(|v| ("code_verifier", v)));
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .basic_auth(id, Some(BACKEND_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap()
}

const NO_PKCE: [(&str, &str); 3] = [
    ("client_id", "backend"),
    ("code_challenge", ""),
    ("code_challenge_method", ""),
];

#[tokio::test]
async fn confidential_clients_must_send_a_challenge_too() {
    let srv = TestServer::start().await;
    confidential_client(&srv, "backend", false).await;
    // RFC 6749 §4.1.2.1: the redirect URI is verified, so the error goes there.
    let to = authorize_error(&srv, &NO_PKCE).await;
    assert_pkce_required(&to);
    // With PKCE, the same client logs in and exchanges its code.
    let code = login_for_code(&srv, &browser(), &[("client_id", "backend")]).await;
    assert_eq!(
        backend_exchange(&srv, "backend", &code, Some(VERIFIER))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_legacy_back_end_registered_with_allow_no_pkce_may_go_without() {
    let srv = TestServer::start().await;
    confidential_client(&srv, "backend", true).await;
    let code = login_for_code(&srv, &browser(), &NO_PKCE).await;
    let res = backend_exchange(&srv, "backend", &code, None).await;
    assert_eq!(res.status(), 200);
    // Those that can still send PKCE, and it is checked.
    let code = login_for_code(&srv, &browser(), &[("client_id", "backend")]).await;
    let res = backend_exchange(&srv, "backend", &code, None).await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn a_code_issued_without_pkce_is_refused_once_pkce_is_required() {
    let srv = TestServer::start().await;
    confidential_client(&srv, "backend", true).await;
    let code = login_for_code(&srv, &browser(), &NO_PKCE).await;
    // The operator withdraws the opt-out before the code is exchanged.
    let res = reqwest::Client::new()
        .put(format!("{}/admin/clients/backend", srv.admin))
        .json(&serde_json::json!({
            "client_id": "backend",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
            "scope": "openid profile email offline",
            "token_endpoint_auth_method": "client_secret_basic",
            "skip_consent": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = backend_exchange(&srv, "backend", &code, None).await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn public_clients_cannot_opt_out_of_pkce() {
    let srv = TestServer::start().await;
    let res = reqwest::Client::new()
        .post(format!("{}/admin/clients", srv.admin))
        .json(&serde_json::json!({
            "client_id": "spa",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "allow_no_pkce": true
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_client_metadata").await, 4008);
}
