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
    let config = (*srv.server().config).clone();
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
