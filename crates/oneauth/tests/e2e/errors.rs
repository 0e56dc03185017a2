//! SPEC §6: every error is JSON with the OAuth2 field and our number, on
//! every endpoint, including unknown routes and malformed requests.

use crate::support::*;

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    assert_eq!(
        error_code(
            c.get(format!("{}/nope", srv.public)).send().await.unwrap(),
            404,
            "not_found"
        )
        .await,
        4404
    );
    assert_eq!(
        error_code(
            c.get(format!("{}/nope", srv.admin)).send().await.unwrap(),
            404,
            "not_found"
        )
        .await,
        4404
    );
    let res = c
        .delete(format!("{}/oauth2/token", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 405, "method_not_allowed").await, 4405);
}

#[tokio::test]
async fn the_token_endpoint_refuses_wrong_content_types_and_repeats() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let res = c
        .post(format!("{}/oauth2/token", srv.public))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 415, "invalid_request").await, 4415);
    let res = c
        .post(format!("{}/oauth2/token", srv.public))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&client_id=web-app&client_id=web-app")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let srv = TestServer::start().await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 413, "invalid_request").await, 4413);
}

#[tokio::test]
async fn unknown_grant_types_and_clients() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let token = |form: Vec<(&'static str, &'static str)>| {
        c.post(format!("{}/oauth2/token", srv.public))
            .form(&form)
            .send()
    };
    let res = token(vec![("grant_type", "password"), ("client_id", "web-app")])
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "unsupported_grant_type").await, 4004);
    let res = token(vec![
        ("grant_type", "authorization_code"),
        ("client_id", "ghost"),
    ])
    .await
    .unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
    let res = token(vec![("grant_type", "authorization_code")])
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
}

#[tokio::test]
async fn confidential_clients_authenticate_by_their_registered_method_only() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let res = c
        .post(format!("{}/admin/clients", srv.admin))
        .json(&serde_json::json!({
            "client_id": "backend",
            "client_name": "Backend",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    let shown: serde_json::Value = c
        .get(format!("{}/admin/clients/backend", srv.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(shown.get("client_secret").is_none(), "{shown}");

    let token = |user: &str, pass: &str, extra: Vec<(&'static str, String)>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", "ory_ac_x.y".to_owned()),
        ];
        form.extend(extra);
        c.post(format!("{}/oauth2/token", srv.public))
            .basic_auth(user, Some(pass))
            .form(&form)
            .send()
    };
    // Right secret: authentication passes, the bogus code then fails.
    assert_eq!(
        error_code(
            token("backend", &secret, vec![]).await.unwrap(),
            400,
            "invalid_grant"
        )
        .await,
        4006
    );
    assert_eq!(
        error_code(
            token("backend", "wrong-secret", vec![]).await.unwrap(),
            401,
            "invalid_client"
        )
        .await,
        2001
    );
    // The same secret in the body is another method than the one registered.
    let res = c
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "backend"),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
    // A public-client request for a confidential client is refused.
    let res = c
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "backend"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
}

#[tokio::test]
async fn admin_api_validates_clients_and_identities() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let post = |path: &str, body: &'static str| {
        c.post(format!("{}{path}", srv.admin))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(
        error_code(
            post("/admin/clients", "{not json").await.unwrap(),
            400,
            "invalid_request"
        )
        .await,
        4001
    );
    let res = post(
        "/admin/clients",
        r#"{"client_id":"x","redirect_uris":["javascript:alert(1)"]}"#,
    )
    .await
    .unwrap();
    assert_eq!(error_code(res, 400, "invalid_redirect_uri").await, 4013);
    let res = post(
        "/admin/clients",
        r#"{"client_id":"web-app","redirect_uris":["https://a.example/cb"]}"#,
    )
    .await
    .unwrap();
    assert_eq!(error_code(res, 400, "already_exists").await, 4009);
    let res = post(
        "/admin/identities",
        r#"{"email":"bob@example.com","password":"short"}"#,
    )
    .await
    .unwrap();
    assert_eq!(error_code(res, 400, "weak_password").await, 4011);
    let res = post(
        "/admin/identities",
        r#"{"email":"ALICE@example.com","password":"long enough password"}"#,
    )
    .await
    .unwrap();
    assert_eq!(error_code(res, 400, "already_exists").await, 4009);
    let res = post(
        "/admin/identities",
        r#"{"email":"bob@example.com","password":"long enough password"}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let bob: serde_json::Value = res.json().await.unwrap();
    assert!(
        bob.get("password_hash").is_none() && bob["has_password"] == true,
        "{bob}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_its_token_when_one_is_set() {
    let srv = TestServer::start_with(|c| c.admin_token = "admin-token-0123456789".into()).await;
    let c = reqwest::Client::new();
    let res = c
        .get(format!("{}/admin/clients", srv.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "unauthorized").await, 2005);
    let res = c
        .get(format!("{}/admin/clients", srv.admin))
        .bearer_auth("admin-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_json_array_is_refused_where_the_document_says_object() {
    // serde reads an array as a struct's fields in order: the token logout
    // answered 200 `{"revoked":true}` to `[null, null]` (found by
    // schemathesis), verification 200 `{"active":false}` to `["a-token"]`.
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    for (path, body) in [
        ("/api/oauth/logout", "[null, null]"),
        ("/oauth/token/verify", r#"["a-token"]"#),
        ("/api/oauth/refresh", r#" ["a-token"]"#),
    ] {
        let res = c
            .post(format!("{}{path}", srv.public))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, 400, "invalid_request").await,
            4001,
            "{path}"
        );
    }
}
