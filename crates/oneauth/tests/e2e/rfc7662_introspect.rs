//! The guide's `/oauth/token/verify` and RFC 7662 introspection.

use crate::support::*;

async fn verify(srv: &TestServer, token: &str) -> (u16, String) {
    let res = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": token }),
    )
    .await;
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn verify_answers_the_same_inactive_for_anything_but_a_live_access_token() {
    let srv = TestServer::start().await;
    let t = tokens(&srv, &browser()).await;
    let (status, body) = verify(&srv, &s(&t["access_token"])).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["scope"], "openid profile email offline");
    assert_eq!(v["token_type"], "bearer");

    let inactive = (200, r#"{"active":false}"#.to_owned());
    assert_eq!(
        verify(&srv, &s(&t["refresh_token"])).await,
        inactive,
        "a refresh token"
    );
    assert_eq!(
        verify(&srv, "ory_at_unknown.tag").await,
        inactive,
        "unknown"
    );
    assert_eq!(
        verify(&srv, "not a token at all").await,
        inactive,
        "malformed"
    );
    assert_eq!(verify(&srv, "").await, inactive, "empty");
    let other = tokens(&srv, &browser()).await;
    post_json(
        format!("{}/api/oauth/logout", srv.public),
        serde_json::json!({ "access_token": other["access_token"] }),
    )
    .await;
    assert_eq!(
        verify(&srv, &s(&other["access_token"])).await,
        inactive,
        "revoked"
    );
    srv.clock.advance(time::Duration::seconds(3600));
    assert_eq!(
        verify(&srv, &s(&t["access_token"])).await,
        inactive,
        "expired"
    );
}

#[tokio::test]
async fn introspection_needs_client_authentication_and_knows_both_kinds() {
    let srv = TestServer::start().await;
    let t = tokens(&srv, &browser()).await;
    let (access, refresh) = (s(&t["access_token"]), s(&t["refresh_token"]));
    let url = format!("{}/oauth2/introspect", srv.public);
    let post = |form: &[(&str, &str)]| reqwest::Client::new().post(&url).form(form).send();
    let answer = |form: &[(&'static str, &'static str)], token: &str| {
        let mut form = form.to_vec();
        form.push(("token", token));
        let res = post(&form);
        async move {
            res.await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let res = post(&[("token", &access)]).await.unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);

    for (token, kind) in [(&access, "access_token"), (&refresh, "refresh_token")] {
        let v = answer(&[("client_id", "web-app")], token).await;
        assert_eq!(v["active"], true, "{v}");
        assert_eq!(v["token_use"], kind);
        assert_eq!(v["iss"], srv.public.as_str());
        assert_eq!(v["sub"], srv.subject.as_str());
    }
    // The hint orders the search; it never limits it (RFC 7662 §2.1).
    let hinted = [
        ("client_id", "web-app"),
        ("token_type_hint", "refresh_token"),
    ];
    let v = answer(&hinted, &access).await;
    assert_eq!(v["token_use"], "access_token", "{v}");
    // No token: the caller is authenticated first, then told what is missing.
    let res = post(&[("client_id", "nobody")]).await.unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
    let res = post(&[("client_id", "web-app")]).await.unwrap();
    error_code(res, 400, "invalid_request").await;
    // A public client sees only its own tokens.
    let mut other = guide_client();
    other.client_id = Some("other-app".into());
    srv.server()
        .create_client(other, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let v = answer(&[("client_id", "other-app")], &access).await;
    assert_eq!(v, serde_json::json!({"active": false}));
}
