//! Disabling or deleting an identity revokes its sessions, refresh tokens
//! and access tokens at once (Zitadel's CVE-2023-22492 was this bug).

use crate::support::*;

async fn active(srv: &TestServer, token: &serde_json::Value) -> bool {
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": token }),
    )
    .await
    .json()
    .await
    .unwrap();
    v["active"] == true
}

#[tokio::test]
async fn disabling_an_identity_revokes_everything_it_holds() {
    let srv = TestServer::start().await;
    let b = browser();
    let t = tokens(&srv, &b).await;
    let res = reqwest::Client::new()
        .patch(format!("{}/admin/identities/{}", srv.admin, srv.subject))
        .json(&serde_json::json!({ "state": "disabled" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!active(&srv, &t["access_token"]).await);
    let res = post_json(
        format!("{}/api/oauth/refresh", srv.public),
        serde_json::json!({ "refresh_token": t["refresh_token"] }),
    )
    .await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(
        location(&res).contains("/login?login_challenge="),
        "the session is gone"
    );
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    assert_eq!(res.status(), 401, "a disabled identity cannot log in");

    // Re-enabling does not resurrect revoked tokens.
    reqwest::Client::new()
        .patch(format!("{}/admin/identities/{}", srv.admin, srv.subject))
        .json(&serde_json::json!({ "state": "active" }))
        .send()
        .await
        .unwrap();
    assert!(!active(&srv, &t["access_token"]).await);
}

#[tokio::test]
async fn deleting_an_identity_revokes_everything_it_holds() {
    let srv = TestServer::start().await;
    let b = browser();
    let t = tokens(&srv, &b).await;
    let res = reqwest::Client::new()
        .delete(format!("{}/admin/identities/{}", srv.admin, srv.subject))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(!active(&srv, &t["access_token"]).await);
    let res = reqwest::Client::new()
        .get(format!("{}/userinfo", srv.public))
        .bearer_auth(s(&t["access_token"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(location(&res).contains("/login?login_challenge="));
}

#[tokio::test]
async fn expired_rows_are_deleted_by_the_cleanup() {
    let srv = TestServer::start().await;
    let b = browser();
    tokens(&srv, &b).await;
    // A code never exchanged (the live session skips the form), a flow
    // never finished.
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    follow_to_client(&b, location(&res)).await;
    b.get(srv.authorize_url(&[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    assert_eq!(
        srv.server().cleanup(now).await.unwrap(),
        0,
        "nothing has expired yet"
    );
    srv.clock.advance(time::Duration::days(31));
    let later = oneauth_core::Clock::now(srv.clock.as_ref());
    let deleted = srv.server().cleanup(later).await.unwrap();
    // 2 tokens (access, refresh), 2 codes, 3 flows, 1 session at least.
    assert!(deleted >= 8, "deleted {deleted}");
    assert_eq!(srv.server().cleanup(later).await.unwrap(), 0, "all gone");
}
