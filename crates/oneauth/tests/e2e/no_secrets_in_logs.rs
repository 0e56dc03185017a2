//! SPEC §1/§7: never a token, code, password, verifier or cookie value in
//! a log line. Runs the guide's requests with every log line captured.

use crate::support::*;

#[tokio::test]
async fn no_token_code_password_verifier_or_cookie_is_ever_logged() {
    let srv = TestServer::start().await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let login = location(&res);
    let challenge = query_param(&login, "login_challenge").unwrap();
    // A failed login logs too; it must not carry the password.
    submit_login(&b, &login, "Wrong-Password-Logged?").await;
    let res = submit_login(&b, &login, PASSWORD).await;
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ory_kratos_session="))
        .unwrap();
    let session = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("ory_kratos_session=")
        .to_owned();
    let callback = follow_to_client(&b, location(&res)).await;
    let code = query_param(&callback, "code").unwrap();
    let t: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    let refreshed: serde_json::Value = post_json(
        format!("{}/api/oauth/refresh", srv.public),
        serde_json::json!({ "refresh_token": t["refresh_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": refreshed["access_token"] }),
    )
    .await;
    exchange(&srv, &code, VERIFIER).await; // reuse: logged as a warning
    post_json(
        format!("{}/oauth/native/cli", srv.public),
        serde_json::json!({ "client_id": "web-app", "username": EMAIL, "password": PASSWORD, "code_verifier": VERIFIER, "scope": "openid" }),
    )
    .await;

    let logs = logged();
    assert!(
        logs.contains("/oauth2/token"),
        "the capture works: {}",
        &logs[..logs.len().min(500)]
    );
    let secrets = [
        ("authorization code", code.as_str()),
        ("login challenge", challenge.as_str()),
        ("access token", t["access_token"].as_str().unwrap()),
        ("refresh token", t["refresh_token"].as_str().unwrap()),
        ("id token", t["id_token"].as_str().unwrap()),
        (
            "rotated access token",
            refreshed["access_token"].as_str().unwrap(),
        ),
        ("password", PASSWORD),
        ("wrong password", "Wrong-Password-Logged?"),
        ("PKCE verifier", VERIFIER),
        ("session cookie", session.as_str()),
    ];
    for (what, secret) in secrets {
        if let Some(line) = logs.lines().find(|l| l.contains(secret)) {
            panic!("the {what} appears in the logs: {line}");
        }
    }
}
