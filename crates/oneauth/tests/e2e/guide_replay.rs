//! Every request of the integration guide, in its order, as it is written
//! there (paths, headers, bodies), with each answer's shape checked.

use crate::support::*;

const ORIGIN: &str = "http://127.0.0.1:3000";

fn assert_token_set(body: &serde_json::Value, with_refresh: bool) {
    assert!(s(&body["access_token"]).starts_with("ory_at_"), "{body}");
    assert!(s(&body["id_token"]).starts_with("eyJ"), "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert!(body["scope"].is_string());
    assert_eq!(body["refresh_token"].is_string(), with_refresh, "{body}");
    if with_refresh {
        assert!(s(&body["refresh_token"]).starts_with("ory_rt_"));
    }
}

#[tokio::test]
async fn every_request_of_the_guide_works_as_written() {
    let srv = TestServer::start().await;
    let api = &srv.public;
    let http = reqwest::Client::new();

    // OIDC Discovery.
    let res = http
        .get(format!("{api}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Steps 1–5: authorize, log in, exchange the code.
    let b = browser();
    let tokens = tokens(&srv, &b).await;
    assert_token_set(&tokens, true);

    // Refresh Token.
    let res = http
        .post(format!("{api}/api/oauth/refresh"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{ "refresh_token": "{}" }}"#,
            s(&tokens["refresh_token"])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let refreshed: serde_json::Value = res.json().await.unwrap();
    assert_token_set(&refreshed, true);
    assert_ne!(
        refreshed["refresh_token"], tokens["refresh_token"],
        "rotated"
    );

    // Verify Token.
    let res = http
        .post(format!("{api}/oauth/token/verify"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{ "token": "{}" }}"#,
            s(&refreshed["access_token"])
        ))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["sub"], srv.subject.as_str());
    assert_eq!(v["client_id"], "web-app");
    assert!(
        v["exp"].is_i64()
            && v["iat"].is_i64()
            && v["scope"].is_string()
            && v["token_type"].is_string(),
        "{v}"
    );

    // Logout step 1: revoke both tokens.
    let res = http
        .post(format!("{api}/api/oauth/logout"))
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({ "access_token": refreshed["access_token"], "refresh_token": refreshed["refresh_token"] })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = post_json(
        format!("{api}/oauth/token/verify"),
        serde_json::json!({"token": refreshed["access_token"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v, serde_json::json!({"active": false}));
    let res = post_json(
        format!("{api}/api/oauth/refresh"),
        serde_json::json!({"refresh_token": refreshed["refresh_token"]}),
    )
    .await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);

    // Logout step 2: end the session and come back to the app's origin.
    // Without an id_token_hint the user confirms first (no logout CSRF);
    // the flow ends in the same place.
    let res = b
        .get(format!(
            "{api}/api/auth/logout?post_logout_redirect_uri={}",
            urlencode(ORIGIN)
        ))
        .send()
        .await
        .unwrap();
    let res = confirm_logout(&srv, &b, &location(&res)).await;
    assert_eq!(location(&res), ORIGIN);
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(
        location(&res).contains("/login?login_challenge="),
        "the password is asked again"
    );

    // Silent Token Exchange: log in again, then exchange with the cookie.
    login_for_code(&srv, &b, &[]).await;
    let res = b
        .post(format!("{api}/api/oauth/web/exchange"))
        .header("Origin", ORIGIN)
        .json(&serde_json::json!({
            "client_id": "web-app",
            "redirect_uri": REDIRECT,
            "scope": "openid profile email offline",
            "code_verifier": VERIFIER
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_token_set(&res.json().await.unwrap(), true);

    // CLI Login.
    let res = http
        .post(format!("{api}/oauth/native/cli"))
        .json(&serde_json::json!({
            "client_id": "web-app",
            "username": EMAIL,
            "password": PASSWORD,
            "code_verifier": VERIFIER,
            "scope": "openid profile offline"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_token_set(&res.json().await.unwrap(), true);
}
