//! RFC 6749 §4.4 client credentials.

use crate::support::*;

#[tokio::test]
async fn a_confidential_client_gets_an_access_token_only() {
    let srv = TestServer::start().await;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let reg = oneauth_oauth2::client::ClientRegistration {
        client_id: Some("service".into()),
        client_secret: Some("service-secret-0123456789".into()),
        grant_types: vec!["client_credentials".into()],
        scope: Some("openid offline read:things".into()),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        ..Default::default()
    };
    srv.server().create_client(reg, now).await.unwrap();
    let c = reqwest::Client::new();
    let url = format!("{}/oauth2/token", srv.public);
    let body: serde_json::Value = c
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "service"),
            ("client_secret", "service-secret-0123456789"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(s(&body["access_token"]).starts_with("ory_at_"));
    assert_eq!(
        body["scope"], "read:things",
        "user scopes are not granted without a user"
    );
    assert!(
        body.get("refresh_token").is_none() && body.get("id_token").is_none(),
        "{body}"
    );
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": body["access_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["sub"], "service");

    let res = c
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "service"),
            ("client_secret", "service-secret-0123456789"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_scope").await, 4002);
    // The guide's public client may not use it.
    let res = c
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "web-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "unauthorized_client").await, 4014);
}
