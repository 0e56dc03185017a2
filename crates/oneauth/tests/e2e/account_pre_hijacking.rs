//! Account pre-hijacking: a stranger signs up with someone's address and a
//! password of their own, and waits. When the address's owner first proves
//! it — a verification code or a login code, from a browser that did not
//! make the sign-up — the stranger's password, sessions and grants end.
//! The person who signed up and proves the address from the same browser
//! keeps the password.

use crate::support::*;
use serde_json::{Value, json};

const VICTIM: &str = "victim@example.com";
const STRANGER_PW: &str = "the stranger's own passphrase";

async fn password_login(srv: &TestServer, b: &reqwest::Client) -> reqwest::StatusCode {
    let body = json!({ "identifier": VICTIM, "password": STRANGER_PW });
    identity_post(b, srv, "login/password", body).await.status()
}

/// The stranger's browser after signing up with the victim's address and
/// logging in with the password, and a grant it holds (the CLI login).
async fn stranger_signs_up(srv: &TestServer) -> (reqwest::Client, Value) {
    let stranger = browser();
    let body = json!({ "email": VICTIM, "password": STRANGER_PW });
    assert_eq!(
        identity_post(&stranger, srv, "registration", body)
            .await
            .status(),
        202
    );
    assert_eq!(password_login(srv, &stranger).await, 200);
    (stranger, cli_login(srv, VICTIM, STRANGER_PW).await)
}

async fn whoami(b: &reqwest::Client, srv: &TestServer) -> reqwest::Response {
    b.get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap()
}

/// Everything the stranger had is gone.
async fn assert_stranger_out(srv: &TestServer, stranger: &reqwest::Client, grant: &Value) {
    assert_eq!(
        password_login(srv, &browser()).await,
        401,
        "password removed"
    );
    let res = whoami(stranger, srv).await;
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    assert!(!token_active(srv, &grant["access_token"]).await);
    let res = post_json(
        format!("{}/api/oauth/refresh", srv.public),
        json!({ "refresh_token": grant["refresh_token"] }),
    )
    .await;
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
}

#[tokio::test]
async fn the_owner_verifying_the_address_ends_a_strangers_password_sessions_and_grants() {
    let (srv, inbox) = server_with_inbox().await;
    let (stranger, grant) = stranger_signs_up(&srv).await;
    // The sign-up's code reached the owner, who verifies (and logs in) in
    // a browser of their own.
    let code = inbox.code_for(VICTIM, "verification_code").await;
    let owner = browser();
    let res = identity_post(
        &owner,
        &srv,
        "verification",
        json!({ "address": VICTIM, "code": code, "login": true }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["identity"]["email_verified"], true);
    assert_eq!(body["identity"]["has_password"], false, "{body}");
    assert_stranger_out(&srv, &stranger, &grant).await;
    // The owner's own login came after, and stands.
    let res = whoami(&owner, &srv).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_owners_first_code_login_ends_a_strangers_password_sessions_and_grants() {
    let (srv, inbox) = server_with_inbox().await;
    let (stranger, grant) = stranger_signs_up(&srv).await;
    // Past the send cool-down the sign-up's code started.
    srv.clock.advance(time::Duration::seconds(61));
    let owner = browser();
    let send = json!({ "method": "email_code", "identifier": VICTIM });
    assert_eq!(
        identity_post(&owner, &srv, "login/code/send", send)
            .await
            .status(),
        202
    );
    let code = inbox.code_for(VICTIM, "login_code").await;
    let login = json!({ "method": "email_code", "identifier": VICTIM, "code": code });
    let res = identity_post(&owner, &srv, "login/code", login).await;
    assert_eq!(res.status(), 200);
    assert_stranger_out(&srv, &stranger, &grant).await;
    let res = whoami(&owner, &srv).await;
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["identity"]["email_verified"], true);
    assert_eq!(me["identity"]["has_password"], false);
}

#[tokio::test]
async fn verifying_from_the_sign_up_browser_keeps_the_password() {
    let (srv, inbox) = server_with_inbox().await;
    let (me, grant) = stranger_signs_up(&srv).await;
    let code = inbox.code_for(VICTIM, "verification_code").await;
    let res = identity_post(
        &me,
        &srv,
        "verification",
        json!({ "address": VICTIM, "code": code }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["identity"]["has_password"], true, "{body}");
    assert_eq!(password_login(&srv, &browser()).await, 200);
    // The session and the grant stand.
    let res = whoami(&me, &srv).await;
    assert_eq!(res.status(), 200);
    assert!(token_active(&srv, &grant["access_token"]).await);
}
