//! Setting or changing a password needs a recent login
//! (`session.privileged_max_age_secs`, 10 minutes by default): an old
//! session gets `reauthentication_required` (2008) and a fresh login may.

use crate::support::*;
use serde_json::json;

const WINDOW: i64 = 600;

async fn password_login(srv: &TestServer, password: &str) -> reqwest::Client {
    let b = browser();
    let body = json!({ "identifier": EMAIL, "password": password });
    assert_eq!(
        identity_post(&b, srv, "login/password", body)
            .await
            .status(),
        200
    );
    b
}

#[tokio::test]
async fn an_old_session_cannot_change_the_password_a_fresh_one_can() {
    let (srv, _) = server_with_inbox().await;
    let old = password_login(&srv, PASSWORD).await;
    srv.clock.advance(time::Duration::seconds(WINDOW + 1));
    let change = json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" });
    let res = identity_post(&old, &srv, "settings/password", change.clone()).await;
    assert_eq!(
        error_code(res, 401, "reauthentication_required").await,
        2008
    );
    // The old session is still a session (reads work), only too old for this.
    let res = old
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Nothing changed: the old password still logs in, and a new login
    // (a recent one) may change it.
    let fresh = password_login(&srv, PASSWORD).await;
    let res = identity_post(&fresh, &srv, "settings/password", change).await;
    assert_eq!(res.status(), 200);
    password_login(&srv, "a brand new passphrase").await;
}

#[tokio::test]
async fn an_old_session_cannot_set_a_first_password() {
    let (srv, inbox) = server_with_inbox().await;
    let bob = "bob@example.com";
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    srv.services()
        .identities
        .create(bob, None, None, now)
        .await
        .unwrap();
    let code_login = |seen: usize| {
        let inbox = inbox.clone();
        let srv = &srv;
        async move {
            let b = browser();
            let send = json!({ "method": "email_code", "identifier": bob });
            assert_eq!(
                identity_post(&b, srv, "login/code/send", send)
                    .await
                    .status(),
                202
            );
            let code = inbox.next_code(bob, "login_code", seen).await;
            let login = json!({ "method": "email_code", "identifier": bob, "code": code });
            assert_eq!(
                identity_post(&b, srv, "login/code", login).await.status(),
                200
            );
            b
        }
    };
    let old = code_login(0).await;
    srv.clock.advance(time::Duration::seconds(WINDOW + 1));
    // No current password is asked when there is none: only the age of
    // the login stands between a stolen cookie and the account.
    let set = json!({ "new_password": "a first passphrase here" });
    let res = identity_post(&old, &srv, "settings/password", set.clone()).await;
    assert_eq!(
        error_code(res, 401, "reauthentication_required").await,
        2008
    );
    let has_password = srv
        .services()
        .store
        .get_identity_by_email(bob)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .is_some();
    assert!(!has_password, "no password was set");
    let fresh = code_login(1).await;
    let res = identity_post(&fresh, &srv, "settings/password", set).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_settings_page_asks_to_sign_in_again_and_comes_back() {
    let srv = TestServer::start_with(|c| {
        c.password.argon2_memory_kib = 64;
        c.password.argon2_iterations = 1;
    })
    .await;
    let b = browser();
    let login = format!(
        "{}/login?return_to={}",
        srv.ui,
        urlencode(&format!("{}/settings", srv.ui))
    );
    sign_in(&srv, &b, &login).await;
    let html = page_text(&b, format!("{}/settings", srv.ui)).await;
    assert!(
        html.contains("action=\"/settings/password\""),
        "a fresh login gets the form"
    );
    srv.clock.advance(time::Duration::seconds(WINDOW + 1));
    let html = page_text(&b, format!("{}/settings", srv.ui)).await;
    assert!(!html.contains("action=\"/settings/password\""), "{html}");
    assert!(html.contains("sign in again first"), "{html}");
    assert!(
        html.contains(&format!(
            "id=\"reauth\" href=\"{}\"",
            login.replace('&', "&amp;")
        )),
        "{html}"
    );
    // A form posted anyway (from a page loaded earlier) is refused with
    // the same page.
    let csrf = hidden(&html, "csrf_token").unwrap();
    let res = b
        .post(format!("{}/settings/password", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("id=\"reauth\""));
    // Signing in again comes back to the settings, with the form.
    sign_in(&srv, &b, &login).await;
    let html = page_text(&b, format!("{}/settings", srv.ui)).await;
    assert!(html.contains("action=\"/settings/password\""), "{html}");
}

/// The login page with a `return_to` back to the settings, signed in.
async fn sign_in(srv: &TestServer, b: &reqwest::Client, login: &str) {
    let html = page_text(b, login).await;
    let csrf = hidden(&html, "csrf_token").unwrap();
    let settings = format!("{}/settings", srv.ui);
    let res = b
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("return_to", settings.as_str()),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), settings);
}
