//! RFC 7009 revocation.

use crate::support::*;

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family_and_unknown_tokens_are_fine() {
    let srv = TestServer::start().await;
    let t = tokens(&srv, &browser()).await;
    let c = reqwest::Client::new();
    let url = format!("{}/oauth2/revoke", srv.public);
    let res = c
        .post(&url)
        .form(&[("token", "ory_rt_nope.nope"), ("client_id", "web-app")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "RFC 7009 §2.2: unknown tokens are not an error"
    );
    let res = c
        .post(&url)
        .form(&[
            ("token", s(&t["refresh_token"])),
            ("client_id", "web-app".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": t["access_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["active"], false, "the family's access token went with it");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token() {
    let srv = TestServer::start().await;
    let mut other = guide_client();
    other.client_id = Some("other-app".into());
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let t = tokens(&srv, &browser()).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/revoke", srv.public))
        .form(&[
            ("token", s(&t["access_token"])),
            ("client_id", "other-app".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "unauthorized_client").await, 4014);
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": t["access_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["active"], true);
}
