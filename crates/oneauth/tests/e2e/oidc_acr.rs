//! OIDC Core §2 `acr` and §3.1.2.1 `acr_values`, and the client flag
//! `require_mfa`: what discovery advertises, what an id_token states, how
//! the CLI and the admin API register and show the flag.

use crate::support::*;
use oneauth_oauth2::mfa::{ACR_MFA, ACR_SINGLE};
use serde_json::json;

#[tokio::test]
async fn discovery_advertises_both_acr_values_and_the_acr_claim() {
    let srv = TestServer::start().await;
    let doc: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", srv.public))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(doc["acr_values_supported"], json!([ACR_SINGLE, ACR_MFA]));
    assert!(
        doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("acr")),
        "{doc}"
    );
}

/// A password login is single-factor, whatever `acr_values` asked for
/// that OneAuth does not know: they are voluntary, so no error either.
#[tokio::test]
async fn a_password_login_states_the_single_factor_acr_and_unknown_acr_values_are_ignored() {
    let srv = TestServer::start().await;
    let b = browser();
    let code = login_for_code(&srv, &b, &[("acr_values", "urn:example:loa:3 0")]).await;
    let res = exchange(&srv, &code, VERIFIER).await;
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let payload = s(&tokens["id_token"]).split('.').nth(1).unwrap().to_owned();
    let id_token: serde_json::Value =
        serde_json::from_slice(&oneauth_crypto::b64url_decode(&payload).unwrap()).unwrap();
    assert_eq!(id_token["amr"], json!(["pwd"]));
    assert_eq!(id_token["acr"], ACR_SINGLE);
}

#[tokio::test]
async fn the_admin_api_registers_shows_and_changes_require_mfa() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let client_url = format!("{}/admin/clients/strict", srv.admin);
    let metadata = |require_mfa: bool| {
        json!({
            "client_id": "strict",
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "require_mfa": require_mfa,
        })
    };
    let res = c
        .post(format!("{}/admin/clients", srv.admin))
        .json(&metadata(true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    assert_eq!(created["require_mfa"], true, "{created}");
    let shown: serde_json::Value = c
        .get(&client_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["require_mfa"], true, "{shown}");

    let res = c
        .put(&client_url)
        .json(&metadata(false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let shown: serde_json::Value = c
        .get(&client_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["require_mfa"], false, "{shown}");
    // The guide's client, registered without the flag, has it off.
    let guide: serde_json::Value = c
        .get(format!("{}/admin/clients/web-app", srv.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(guide["require_mfa"], false, "{guide}");
}

/// `oneauth clients …` on the data directory `dir`: its JSON output.
fn cli(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .arg("--data-dir")
        .arg(dir)
        .arg("clients")
        .args(args)
        .env(
            "ONEAUTH_SECRETS__SYSTEM",
            "test-system-secret-0123456789abcdef",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_cli_registers_and_shows_require_mfa() {
    let dir = tempfile::tempdir().unwrap();
    let public = ["--token-endpoint-auth-method", "none"];
    let redirect = ["--redirect-uri", REDIRECT];
    let created = cli(
        dir.path(),
        &[
            &["create", "--id", "strict", "--require-mfa"][..],
            &public,
            &redirect,
        ]
        .concat(),
    );
    assert_eq!(created["require_mfa"], true, "{created}");
    let lax = cli(
        dir.path(),
        &[&["create", "--id", "lax"][..], &public, &redirect].concat(),
    );
    assert_eq!(lax["require_mfa"], false, "{lax}");
    let shown = cli(dir.path(), &["get", "strict"]);
    assert_eq!(shown["require_mfa"], true, "{shown}");
}
