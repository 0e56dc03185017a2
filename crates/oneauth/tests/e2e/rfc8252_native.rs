//! RFC 8252, OAuth 2.0 for native apps: a port-less loopback IP redirect
//! URI matches any port (§7.3), `localhost` does not (§8.3), private-use
//! schemes are reverse domain names (§7.1) of public clients (§8.5).

use crate::support::*;
use oneauth_oauth2::client::ClientRegistration;

const NATIVE_URIS: [&str; 4] = [
    "http://127.0.0.1/callback",
    "http://[::1]/callback",
    "http://localhost/callback",
    "com.example.app:/oauth2redirect",
];

/// A public native client registered with [`NATIVE_URIS`].
async fn native_server() -> TestServer {
    let srv = TestServer::start().await;
    let reg = ClientRegistration {
        client_id: Some("native-app".into()),
        redirect_uris: NATIVE_URIS.iter().map(|s| s.to_string()).collect(),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: Some("none".into()),
        skip_consent: true,
        ..Default::default()
    };
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    srv.server().create_client(reg, now).await.unwrap();
    srv
}

fn native_authorize(srv: &TestServer, redirect_uri: &str) -> String {
    srv.authorize_url(&[("client_id", "native-app"), ("redirect_uri", redirect_uri)])
}

/// Logs in at the authorization endpoint for `redirect_uri` and follows the
/// redirects to it: the code it brings back.
async fn native_code(srv: &TestServer, b: &reqwest::Client, redirect_uri: &str) -> String {
    let res = b
        .get(native_authorize(srv, redirect_uri))
        .send()
        .await
        .unwrap();
    let mut next = location(&res);
    if next.starts_with(&format!("{}/login", srv.ui)) {
        let res = submit_login(b, &next, PASSWORD).await;
        assert_eq!(res.status(), 303, "login POST");
        next = location(&res);
    }
    let callback = follow_until(b, next, redirect_uri).await;
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-123"));
    query_param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
}

async fn native_exchange(srv: &TestServer, code: &str, redirect_uri: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", "native-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
}

/// The error code of the UI's error page an authorization request for
/// `redirect_uri` is sent to (it never goes to an unregistered URI).
async fn rejected_redirect(srv: &TestServer, redirect_uri: &str) -> Option<String> {
    let authorize = native_authorize(srv, redirect_uri);
    let to = location(&browser().get(authorize).send().await.unwrap());
    assert!(
        to.starts_with(&format!("{}/error?", srv.ui)),
        "{redirect_uri}: {to}"
    );
    query_param(&to, "code")
}

#[tokio::test]
async fn a_port_less_loopback_ip_redirect_uri_works_on_any_port() {
    let srv = native_server().await;
    let b = browser();
    for redirect_uri in [
        "http://127.0.0.1:51004/callback",
        "http://127.0.0.1:8123/callback",
        "http://[::1]:40999/callback",
    ] {
        let code = native_code(&srv, &b, redirect_uri).await;
        let res = native_exchange(&srv, &code, redirect_uri).await;
        assert_eq!(res.status(), 200, "{redirect_uri}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["access_token"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn only_the_port_may_differ_and_not_for_localhost() {
    let srv = native_server().await;
    for bad in [
        "http://127.0.0.1:51004/other",
        "http://127.0.0.1:51004/callback/",
        "http://127.0.0.1:51004/callback?x=1",
        "http://127.0.0.2:51004/callback",
        "https://127.0.0.1:51004/callback",
        "http://localhost:51004/callback",
        "com.example.app:/other",
        "com.example.evil:/oauth2redirect",
    ] {
        assert_eq!(
            rejected_redirect(&srv, bad).await.as_deref(),
            Some("4005"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_token_request_names_the_port_the_authorization_request_used() {
    let srv = native_server().await;
    let code = native_code(&srv, &browser(), "http://127.0.0.1:51004/callback").await;
    // Registered, but not the URI the code was issued to (RFC 6749 §4.1.3).
    let res = native_exchange(&srv, &code, "http://127.0.0.1:51005/callback").await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn a_private_use_scheme_redirect_brings_the_code_to_the_app() {
    let srv = native_server().await;
    let uri = "com.example.app:/oauth2redirect";
    let code = native_code(&srv, &browser(), uri).await;
    let res = native_exchange(&srv, &code, uri).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["id_token"].is_string(), "{body}");
    // The code went to the app once; PKCE bound it to this app's verifier.
    let again = native_exchange(&srv, &code, uri).await;
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn the_admin_api_takes_native_redirect_uris_of_public_clients_only() {
    let srv = TestServer::start().await;
    let create = |body: serde_json::Value| post_json(format!("{}/admin/clients", srv.admin), body);
    let res = create(serde_json::json!({
        "client_id": "app",
        "redirect_uris": ["com.example.app:/cb", "http://127.0.0.1/cb", "http://[::1]/cb"],
        "token_endpoint_auth_method": "none"
    }))
    .await;
    assert_eq!(res.status(), 201);
    // A scheme that is no reverse domain name: any app could claim it.
    let res = create(serde_json::json!({
        "redirect_uris": ["myapp:/cb"],
        "token_endpoint_auth_method": "none"
    }))
    .await;
    assert_eq!(error_code(res, 400, "invalid_redirect_uri").await, 4013);
    // A native app cannot keep a secret (RFC 8252 §8.5).
    for method in ["client_secret_basic", "client_secret_post"] {
        let res = create(serde_json::json!({
            "redirect_uris": ["com.example.app:/cb"],
            "token_endpoint_auth_method": method
        }))
        .await;
        assert_eq!(
            error_code(res, 400, "invalid_redirect_uri").await,
            4013,
            "{method}"
        );
    }
    // A confidential client may still use a loopback redirect (a back end
    // in development).
    let res = create(serde_json::json!({
        "redirect_uris": ["http://127.0.0.1/cb"],
        "token_endpoint_auth_method": "client_secret_basic"
    }))
    .await;
    assert_eq!(res.status(), 201);
}

/// `oneauth clients create` on a fresh data directory with `args`:
/// success and stderr.
fn clients_create(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["clients", "create"])
        .args(args)
        .env(
            "ONEAUTH_SECRETS__SYSTEM",
            "test-system-secret-0123456789abcdef",
        )
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn the_cli_registers_native_clients_and_explains_a_refusal() {
    let public = ["--token-endpoint-auth-method", "none"];
    let (ok, err) = clients_create(
        &[
            &public[..],
            &["--redirect-uri", "com.example.app:/cb,http://127.0.0.1/cb"],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    let (ok, err) = clients_create(&[&public[..], &["--redirect-uri", "myapp:/cb"]].concat());
    assert!(!ok);
    assert!(
        err.contains("myapp:/cb") && err.contains("reverse domain name"),
        "{err}"
    );
    let (ok, err) = clients_create(&["--redirect-uri", "com.example.app:/cb"]);
    assert!(!ok);
    assert!(err.contains("token_endpoint_auth_method none"), "{err}");
}
