//! Key rotation and RFC 9068 JWT access tokens.

use crate::support::*;
use oneauth_core::config::SigningAlg;

fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let h: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    s(&h["kid"])
}

async fn jwks(srv: &TestServer) -> String {
    reqwest::get(format!("{}/.well-known/jwks.json", srv.public))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_rotated_key_signs_and_the_old_one_stays_published_until_its_tokens_expired() {
    let srv = TestServer::start().await;
    let old = tokens(&srv, &browser()).await;
    let old_kid = kid_of(&s(&old["id_token"]));
    let services = srv.services();
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    srv.clock.advance(time::Duration::seconds(1));
    let new_kid = oneauth_oauth2::keys::generate(
        services.store.as_ref(),
        &services.system_keys,
        SigningAlg::RS256,
        now.unix_timestamp() + 1,
    )
    .await
    .unwrap();
    assert!(
        services
            .server
            .reload_keys(oneauth_core::Clock::now(srv.clock.as_ref()))
            .await
            .unwrap()
    );
    let fresh = tokens(&srv, &browser()).await;
    assert_eq!(kid_of(&s(&fresh["id_token"])), new_kid);
    let published = jwks(&srv).await;
    assert!(published.contains(&old_kid) && published.contains(&new_kid));

    srv.clock.advance(time::Duration::seconds(3601));
    services
        .server
        .reload_keys(oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let published = jwks(&srv).await;
    assert!(
        !published.contains(&old_kid),
        "retired after everything it signed expired"
    );
    assert!(published.contains(&new_kid));
}

#[tokio::test]
async fn jwt_access_tokens_verify_against_the_jwks_and_can_still_be_revoked() {
    let srv = TestServer::start().await;
    let mut reg = guide_client();
    reg.client_id = Some("jwt-app".into());
    reg.access_token_strategy = Some("jwt".into());
    srv.server()
        .create_client(reg, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let code = login_for_code(&srv, &browser(), &[("client_id", "jwt-app")]).await;
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", "jwt-app"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let at = s(&body["access_token"]);
    // Verify with jsonwebtoken and the published JWKS alone.
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(&jwks(&srv).await).unwrap();
    let header = jsonwebtoken::decode_header(&at).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["jwt-app"]);
    validation.set_issuer(&[srv.public.as_str()]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &at,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("the JWT access token verifies")
    .claims;
    assert_eq!(claims["sub"], srv.subject.as_str());
    assert_eq!(claims["client_id"], "jwt-app");

    let userinfo = reqwest::Client::new()
        .get(format!("{}/userinfo", srv.public))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    post_json(
        format!("{}/api/oauth/logout", srv.public),
        serde_json::json!({ "access_token": at }),
    )
    .await;
    let userinfo = reqwest::Client::new()
        .get(format!("{}/userinfo", srv.public))
        .bearer_auth(&at)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        401,
        "revocation holds for JWT access tokens too"
    );
}
