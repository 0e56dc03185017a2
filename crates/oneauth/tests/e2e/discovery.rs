//! OIDC Discovery: the document's issuer is exactly the configured one and
//! every endpoint it advertises is routed.

use crate::support::*;

#[tokio::test]
async fn every_advertised_endpoint_is_routed() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let doc: serde_json::Value = c
        .get(format!("{}/.well-known/openid-configuration", srv.public))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], srv.public.as_str());
    let endpoints: Vec<&str> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || k.ends_with("_uri"))
        .map(|(_, v)| v.as_str().unwrap())
        .collect();
    assert!(endpoints.len() >= 4, "{doc}");
    for url in endpoints {
        assert!(url.starts_with(&srv.public), "{url}");
        for res in [
            c.get(url).send().await.unwrap(),
            c.post(url).send().await.unwrap(),
        ] {
            assert_ne!(res.status(), 404, "{url} is advertised but not routed");
        }
    }
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let algs = doc["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&"RS256".into()), "OIDC requires RS256");
}

#[tokio::test]
async fn jwks_publishes_one_public_key_per_algorithm() {
    let srv = TestServer::start().await;
    let jwks: serde_json::Value = reqwest::get(format!("{}/.well-known/jwks.json", srv.public))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    for k in keys {
        assert!(
            k.get("d").is_none() && k.get("p").is_none(),
            "private material in JWKS: {k}"
        );
        assert_eq!(k["use"], "sig");
    }
}

#[tokio::test]
async fn keys_survive_a_restart_and_are_encrypted_at_rest() {
    let srv = TestServer::start().await;
    let jwks1 = reqwest::get(format!("{}/.well-known/jwks.json", srv.public))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let config = (*srv.services().config).clone();
    let clock: std::sync::Arc<dyn oneauth_core::Clock> = srv.clock.clone();
    let again = oneauth::server::build(config.clone(), clock.clone())
        .await
        .unwrap();
    assert_eq!(again.keyring().jwks_json(), jwks1);
    let mut wrong = config;
    wrong.secrets.system = "another-system-secret-0123456789abcdef".into();
    let err = oneauth::server::build(wrong, clock)
        .await
        .err()
        .expect("keys sealed under another secret must not load");
    assert!(err.to_string().contains("cannot be decrypted"), "{err}");
}

/// Discovery lists every scope OneAuth issues claims for and every claim
/// an id_token or userinfo carries: a user with every trait, asking for
/// every scope the document names.
#[tokio::test]
async fn discovery_names_every_scope_and_claim_that_is_issued() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let doc: serde_json::Value = c
        .get(format!("{}/.well-known/openid-configuration", srv.public))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let (scopes, claims) = (list("scopes_supported"), list("claims_supported"));
    assert!(scopes.iter().any(|s| s == "phone"), "{scopes:?}");

    // Alice with every trait; the guide's client allowed every scope.
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let services = srv.services();
    let mut alice = services
        .store
        .get_identity(&srv.subject)
        .await
        .unwrap()
        .unwrap();
    alice.traits.phone = Some("+8613800138000".into());
    alice.traits.username = Some("alice".into());
    assert!(services.store.update_identity(&alice).await.unwrap());
    let mut client = guide_client();
    client.scope = Some(scopes.join(" "));
    services
        .server
        .update_client("web-app", client, now)
        .await
        .unwrap()
        .unwrap();

    let b = browser();
    let all = scopes.join(" ");
    let code = login_for_code(&srv, &b, &[("scope", &all), ("nonce", "n-1")]).await;
    let res = exchange(&srv, &code, VERIFIER).await;
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let payload = s(&tokens["id_token"]).split('.').nth(1).unwrap().to_owned();
    let id_token: serde_json::Value =
        serde_json::from_slice(&oneauth_crypto::b64url_decode(&payload).unwrap()).unwrap();
    let userinfo: serde_json::Value = c
        .get(format!("{}/userinfo", srv.public))
        .bearer_auth(s(&tokens["access_token"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (what, issued) in [("id_token", &id_token), ("userinfo", &userinfo)] {
        for claim in issued.as_object().unwrap().keys() {
            assert!(
                claims.contains(claim),
                "{what} carries `{claim}`, which claims_supported lacks"
            );
        }
    }
    for claim in [
        "phone_number",
        "phone_number_verified",
        "preferred_username",
        "email",
        "name",
    ] {
        assert!(
            userinfo.get(claim).is_some(),
            "userinfo lacks {claim}: {userinfo}"
        );
    }
}
