//! Cross-origin calls with the user's cookie: the account API
//! (`/api/identity/*`) and the login/consent API (`/api/hydra/*`) answer
//! only OneAuth's own origins and the configured first-party origins; a
//! registered client's origin gets neither a CORS allowance nor an answer
//! there, and keeps exactly the guide's endpoints (silent exchange with
//! credentials; token, refresh, verify and logout without).

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The guide client's origin (its redirect URI's).
const CLIENT: &str = "http://127.0.0.1:3000";
/// A configured first-party origin (a custom account page, say).
const FIRST_PARTY: &str = "http://127.0.0.1:4000";

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.cors.first_party_origins = vec![FIRST_PARTY.parse().unwrap()];
        c.password.argon2_memory_kib = 64;
        c.password.argon2_iterations = 1;
    })
    .await
}

/// A browser logged in as Alice through the identity API (no `Origin`:
/// not a cross-site call).
async fn logged_in(srv: &TestServer) -> reqwest::Client {
    let b = browser();
    let res = b
        .post(format!("{}/api/identity/login/password", srv.public))
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    b
}

/// A CORS preflight for `method` on `path` from `origin`.
async fn preflight(srv: &TestServer, origin: &str, method: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}{path}", srv.public))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

/// The account and challenge calls a page could make with the cookie.
fn account_calls() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/api/identity/whoami", None),
        (Method::GET, "/api/identity/sessions", None),
        (
            Method::PATCH,
            "/api/identity/settings/profile",
            Some(json!({ "name": "Mallory" })),
        ),
        (
            Method::POST,
            "/api/identity/settings/password",
            Some(json!({ "current_password": PASSWORD, "new_password": "hijacked passphrase" })),
        ),
        (Method::DELETE, "/api/identity/sessions", None),
        (
            Method::PUT,
            "/api/hydra/login/accept?login_challenge=x",
            None,
        ),
        (
            Method::PUT,
            "/api/hydra/consent/accept?consent_challenge=x",
            None,
        ),
        (
            Method::PUT,
            "/api/hydra/consent/reject?consent_challenge=x",
            None,
        ),
    ]
}

async fn call(
    b: &reqwest::Client,
    srv: &TestServer,
    origin: &str,
    (method, path, body): &(Method, &str, Option<Value>),
) -> reqwest::Response {
    let mut req = b
        .request(method.clone(), format!("{}{path}", srv.public))
        .header("Origin", origin);
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_client_origin_gets_no_cors_and_is_refused_on_the_account_api() {
    let srv = server().await;
    let b = logged_in(&srv).await;
    for c in account_calls() {
        let (method, path, _) = &c;
        let res = preflight(&srv, CLIENT, method.as_str(), path).await;
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            None,
            "preflight {method} {path}"
        );
        let res = call(&b, &srv, CLIENT, &c).await;
        assert_eq!(header(&res, "access-control-allow-origin"), None);
        assert_eq!(
            error_code(res, 403, "access_denied").await,
            3001,
            "{method} {path}"
        );
    }
    // Nothing changed, and the session is still there.
    let me: Value = b
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["identity"]["name"], "Alice Example", "{me}");
    // Logins and sign-ups from the client's origin are refused too: a
    // custom login UI must be a configured first-party origin.
    let res = browser()
        .post(format!("{}/api/identity/login/password", srv.public))
        .header("Origin", CLIENT)
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 403, "access_denied").await, 3001);
}

#[tokio::test]
async fn own_and_first_party_origins_keep_the_account_api() {
    let srv = server().await;
    let b = logged_in(&srv).await;
    for origin in [srv.public.as_str(), srv.ui.as_str(), FIRST_PARTY] {
        for (method, path, _) in account_calls() {
            let res = preflight(&srv, origin, method.as_str(), path).await;
            assert_eq!(header(&res, "access-control-allow-origin"), Some(origin));
            assert_eq!(
                header(&res, "access-control-allow-credentials"),
                Some("true"),
                "{origin}: {method} {path}"
            );
        }
        let res = call(
            &b,
            &srv,
            origin,
            &(Method::GET, "/api/identity/whoami", None),
        )
        .await;
        assert_eq!(res.status(), 200, "{origin}");
        assert_eq!(header(&res, "access-control-allow-origin"), Some(origin));
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            Some("true")
        );
        let profile = (
            Method::PATCH,
            "/api/identity/settings/profile",
            Some(json!({ "name": format!("Alice via {origin}") })),
        );
        let res = call(&b, &srv, origin, &profile).await;
        assert_eq!(res.status(), 200, "{origin}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["identity"]["name"], format!("Alice via {origin}"));
    }
    // A first-party origin may also log in and end sessions.
    let res = browser()
        .post(format!("{}/api/identity/login/password", srv.public))
        .header("Origin", FIRST_PARTY)
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = call(
        &b,
        &srv,
        FIRST_PARTY,
        &(Method::DELETE, "/api/identity/sessions", None),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_client_origin_keeps_the_guides_endpoints() {
    let srv = server().await;
    // The silent exchange acts with the cookie: credentials allowed.
    let res = preflight(&srv, CLIENT, "POST", "/api/oauth/web/exchange").await;
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    // The token-ish endpoints carry no cookie: no credentials.
    for path in [
        "/oauth2/token",
        "/api/oauth2/token",
        "/api/oauth/refresh",
        "/oauth/token/verify",
        "/api/oauth/logout",
    ] {
        let res = preflight(&srv, CLIENT, "POST", path).await;
        assert_eq!(
            header(&res, "access-control-allow-origin"),
            Some(CLIENT),
            "{path}"
        );
        assert_eq!(
            header(&res, "access-control-allow-credentials"),
            None,
            "{path}"
        );
    }
    // And another site gets nothing anywhere.
    for path in [
        "/api/oauth/web/exchange",
        "/oauth2/token",
        "/api/oauth/refresh",
    ] {
        let res = preflight(&srv, "https://evil.example", "POST", path).await;
        assert_eq!(header(&res, "access-control-allow-origin"), None, "{path}");
    }

    // The real calls from the client's origin work.
    let b = browser();
    let code = login_for_code(&srv, &b, &[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", srv.public))
        .header("Origin", CLIENT)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", "web-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
    let tokens: Value = res.json().await.unwrap();
    let client_post = |path: &str, body: Value| {
        reqwest::Client::new()
            .post(format!("{}{path}", srv.public))
            .header("Origin", CLIENT)
            .json(&body)
            .send()
    };
    let res = client_post(
        "/api/oauth/refresh",
        json!({ "refresh_token": tokens["refresh_token"] }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
    let refreshed: Value = res.json().await.unwrap();
    let res = client_post(
        "/oauth/token/verify",
        json!({ "token": refreshed["access_token"] }),
    )
    .await
    .unwrap();
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
    let status: Value = res.json().await.unwrap();
    assert_eq!(status["active"], true, "{status}");
    let res = b
        .post(format!("{}/api/oauth/web/exchange", srv.public))
        .header("Origin", CLIENT)
        .json(&json!({
            "client_id": "web-app",
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "code_verifier": VERIFIER
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
    assert_eq!(
        header(&res, "access-control-allow-credentials"),
        Some("true")
    );
    let res = client_post(
        "/api/oauth/logout",
        json!({
            "access_token": refreshed["access_token"],
            "refresh_token": refreshed["refresh_token"]
        }),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(CLIENT));
}
