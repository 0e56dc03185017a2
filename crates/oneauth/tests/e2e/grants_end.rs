//! OAuth grants end with what they stand on: a password change or a
//! recovery ends every grant of the identity (ASVS 3.3.3), the CLI login's
//! too, and a deleted client's tokens stop working.

use crate::support::*;
use serde_json::{Value, json};

/// The guide's refresh and verify, as a client app calls them.
async fn refresh(srv: &TestServer, refresh_token: &Value) -> reqwest::Response {
    post_json(
        format!("{}/api/oauth/refresh", srv.public),
        json!({ "refresh_token": refresh_token }),
    )
    .await
}

/// Introspection by a confidential client of its own token.
async fn introspected_active(srv: &TestServer, token: &Value) -> bool {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/introspect", srv.public))
        .basic_auth("backend", Some("backend-secret-0123456789"))
        .form(&[("token", s(token))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"].as_bool().unwrap()
}

/// Every grant Alice holds: one from the browser flow, one from the CLI.
async fn grants(srv: &TestServer, b: &reqwest::Client) -> [Value; 2] {
    let web = tokens(srv, b).await;
    let cli = cli_login(srv, EMAIL, PASSWORD).await;
    for t in [&web, &cli] {
        assert!(token_active(srv, &t["access_token"]).await);
    }
    [web, cli]
}

async fn assert_ended(srv: &TestServer, grants: &[Value; 2]) {
    for t in grants {
        assert!(
            !token_active(srv, &t["access_token"]).await,
            "access token inactive"
        );
        let res = refresh(srv, &t["refresh_token"]).await;
        assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    }
}

#[tokio::test]
async fn a_password_change_ends_every_grant_of_the_identity() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let held = grants(&srv, &b).await;
    // The browser's session (from the login above) changes the password.
    let change = json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" });
    let res = identity_post(&b, &srv, "settings/password", change).await;
    assert_eq!(res.status(), 200);
    assert_ended(&srv, &held).await;
}

#[tokio::test]
async fn a_recovery_ends_every_grant_of_the_identity() {
    let (srv, inbox) = server_with_inbox().await;
    // Recovery goes to verified addresses only.
    verify_alice(&srv, &inbox).await;

    let held = grants(&srv, &browser()).await;
    let lost = browser();
    let res = identity_post(&lost, &srv, "recovery/send", json!({ "address": EMAIL })).await;
    assert_eq!(res.status(), 202);
    let code = inbox.code_for(EMAIL, "recovery_code").await;
    let recover =
        json!({ "address": EMAIL, "code": code, "new_password": "a brand new passphrase" });
    let res = identity_post(&lost, &srv, "recovery", recover).await;
    assert_eq!(res.status(), 200);
    assert_ended(&srv, &held).await;
}

#[tokio::test]
async fn a_deleted_clients_tokens_stop_working() {
    let srv = TestServer::start().await;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let backend = oneauth_oauth2::client::ClientRegistration {
        client_id: Some("backend".into()),
        client_secret: Some("backend-secret-0123456789".into()),
        grant_types: vec!["client_credentials".into()],
        response_types: vec![],
        scope: Some("api".into()),
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        ..Default::default()
    };
    srv.server().create_client(backend, now).await.unwrap();
    let web = tokens(&srv, &browser()).await;
    let cli = cli_login(&srv, EMAIL, PASSWORD).await;
    let machine: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .basic_auth("backend", Some("backend-secret-0123456789"))
        .form(&[("grant_type", "client_credentials"), ("scope", "api")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(introspected_active(&srv, &machine["access_token"]).await);

    // The guide's client goes through the admin API.
    let res = reqwest::Client::new()
        .delete(format!("{}/admin/clients/web-app", srv.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_ended(&srv, &[web, cli]).await;
    // Another client's token is untouched, until that client goes too.
    assert!(introspected_active(&srv, &machine["access_token"]).await);
    assert!(token_active(&srv, &machine["access_token"]).await);
    srv.services().store.delete_client("backend").await.unwrap();
    assert!(!token_active(&srv, &machine["access_token"]).await);
}
