//! The second-factor step (issue 17): a first factor leaves the session
//! pending when the MFA policy or the person's enrolled factors ask for
//! more; a pending session counts for nothing but the second-factor step;
//! clients with `require_mfa` and requests with the multi-factor
//! `acr_values` step a live session up; logins without a browser are
//! refused when a second factor would be due.

use crate::support::*;
use oneauth_core::config::MfaPolicy;
use serde_json::{Value, json};

fn required(c: &mut oneauth_core::Config) {
    c.mfa.policy = MfaPolicy::Required;
}

/// The login challenge of a fresh authorization request in `b`.
async fn challenge(srv: &TestServer, b: &reqwest::Client, extra: &[(&str, &str)]) -> String {
    let res = b.get(srv.authorize_url(extra)).send().await.unwrap();
    let login = location(&res);
    query_param(&login, "login_challenge").unwrap_or_else(|| panic!("no challenge in {login}"))
}

async fn login_request(srv: &TestServer, b: &reqwest::Client, challenge: &str) -> Value {
    let res = b
        .get(format!(
            "{}/api/hydra/login?login_challenge={}",
            srv.public,
            urlencode(challenge)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn under_the_required_policy_a_password_leaves_the_session_pending() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let ch = challenge(&srv, &b, &[]).await;
    let before = login_request(&srv, &b, &ch).await;
    assert_eq!(before["authentication"]["needed"], json!(["first_factor"]));
    assert_eq!(before["authentication"]["done"], json!([]));

    let login = json!({ "identifier": EMAIL, "password": PASSWORD, "login_challenge": ch });
    let res = identity_post(&b, &srv, "login/password", login).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
    assert!(
        body.get("redirect_to").is_none(),
        "not on to the client yet"
    );

    // Nothing counts the pending session as a login: the account API,
    // the challenge acceptance, the authorization endpoint.
    let res = b
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    let res = b
        .put(format!(
            "{}/api/hydra/login/accept?login_challenge={}",
            srv.public,
            urlencode(&ch)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(
        location(&res).starts_with(&format!("{}/login?", srv.ui)),
        "a new request starts at the login page"
    );

    // A custom UI learns where the login stands: a password, and an
    // authenticator to enrol (Alice has none).
    let progress = login_request(&srv, &b, &ch).await["authentication"].clone();
    assert_eq!(progress["done"], json!(["pwd"]));
    assert_eq!(progress["needed"], json!(["enrol_second_factor"]));
    assert_eq!(progress["second_factors"], json!([]));

    // A wrong second factor is refused in the documented shape.
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "totp", "code": "000000", "login_challenge": ch }),
    )
    .await;
    assert_eq!(error_code(res, 401, "invalid_code").await, 2006);
}

#[tokio::test]
async fn the_second_factor_step_needs_a_session_and_a_well_formed_body() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "totp", "code": "123456" }),
    )
    .await;
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "sms", "code": "123456" }),
    )
    .await;
    assert_eq!(res.status(), 400, "unknown method");
    // The UI page without a session starts the login over.
    let res = b
        .get(format!("{}/login/second-factor?login_challenge=x", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?"), "{}", location(&res));
}

#[tokio::test]
async fn under_the_required_policy_the_ui_sends_a_password_login_to_the_second_factor_step() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(
        to.starts_with("/login/second-factor?login_challenge="),
        "{to}"
    );
}

#[tokio::test]
async fn a_cli_password_login_is_refused_when_a_second_factor_is_due() {
    let srv = TestServer::start_with(required).await;
    let res = post_json(
        format!("{}/oauth/native/cli", srv.public),
        json!({
            "client_id": "web-app",
            "username": EMAIL,
            "password": PASSWORD,
            "code_verifier": VERIFIER,
            "scope": "openid offline"
        }),
    )
    .await;
    assert_eq!(error_code(res, 401, "second_factor_required").await, 2010);
}
