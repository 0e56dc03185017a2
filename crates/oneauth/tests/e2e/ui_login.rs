//! The login UI: CSRF, wrong passwords, session cookie, security headers,
//! and the challenge API a custom UI uses.

use crate::support::*;

async fn login_page(srv: &TestServer, b: &reqwest::Client) -> (String, String) {
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let login = location(&res);
    let html = b.get(&login).send().await.unwrap().text().await.unwrap();
    (login, html)
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token() {
    let srv = TestServer::start().await;
    let b = browser();
    let (_, html) = login_page(&srv, &b).await;
    let challenge = hidden(&html, "login_challenge").unwrap();
    for csrf in [None, Some("forged-token")] {
        let mut form = vec![
            ("login_challenge", challenge.as_str()),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ];
        if let Some(c) = csrf {
            form.push(("csrf_token", c));
        }
        let res = b
            .post(format!("{}/login", srv.ui))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert!(
            res.headers()
                .get("set-cookie")
                .is_none_or(|c| !c.to_str().unwrap().contains("ory_kratos_session"))
        );
    }
    // A token from another browser does not fit this browser's cookie.
    let other = browser();
    let (_, other_html) = login_page(&srv, &other).await;
    let res = b
        .post(format!("{}/login", srv.ui))
        .form(&[
            (
                "csrf_token",
                hidden(&other_html, "csrf_token").unwrap().as_str(),
            ),
            ("login_challenge", challenge.as_str()),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_an_error() {
    let srv = TestServer::start().await;
    let b = browser();
    let (login, _) = login_page(&srv, &b).await;
    let res = submit_login(&b, &login, "wrong password").await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("location").is_none());
    let html = res.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        html.contains("name=\"login_challenge\""),
        "the form keeps the challenge"
    );
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password() {
    let srv = TestServer::start().await;
    let b = browser();
    let (_, html) = login_page(&srv, &b).await;
    let post = |identifier: &'static str| {
        let b = b.clone();
        let ui = srv.ui.clone();
        let csrf = hidden(&html, "csrf_token").unwrap();
        let challenge = hidden(&html, "login_challenge").unwrap();
        async move {
            let res = b
                .post(format!("{ui}/login"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("login_challenge", challenge.as_str()),
                    ("identifier", identifier),
                    ("password", "nope-nope-nope"),
                ])
                .send()
                .await
                .unwrap();
            (
                res.status(),
                res.text().await.unwrap().replace(identifier, "ID"),
            )
        }
    };
    assert_eq!(post(EMAIL).await, post("nobody@example.com").await);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_rotates_at_login() {
    let srv = TestServer::start().await;
    let b = browser();
    let cookie_of = |res: &reqwest::Response| {
        res.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("ory_kratos_session="))
            .expect("session cookie")
    };
    let (login, _) = login_page(&srv, &b).await;
    let res = submit_login(&b, &login, PASSWORD).await;
    let first = cookie_of(&res);
    assert!(
        first.contains("HttpOnly") && first.contains("SameSite=Lax") && first.contains("Path=/"),
        "{first}"
    );
    follow_to_client(&b, location(&res)).await;

    let res = b
        .get(srv.authorize_url(&[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    let second = cookie_of(&res);
    assert_ne!(
        first.split(';').next(),
        second.split(';').next(),
        "a new session id at every login"
    );
    // The old session is over on the server, not only in the browser.
    let old_value = first
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("ory_kratos_session=");
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    assert!(
        srv.services()
            .identities
            .session(old_value, now)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn ui_pages_carry_security_headers() {
    let srv = TestServer::start().await;
    let b = browser();
    let (login, _) = login_page(&srv, &b).await;
    let res = b.get(&login).send().await.unwrap();
    let h = res.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<label for=\"identifier\">") && html.contains("<label for=\"password\">")
    );
    assert!(
        !html.contains("<script"),
        "the page works without JavaScript"
    );
}

#[tokio::test]
async fn the_challenge_api_serves_a_custom_ui() {
    let srv = TestServer::start().await;
    let b = browser();
    let res = b
        .get(srv.authorize_url(&[("login_hint", "alice@example.com")]))
        .send()
        .await
        .unwrap();
    let challenge = query_param(&location(&res), "login_challenge").unwrap();

    let info: serde_json::Value = b
        .get(format!(
            "{}/api/hydra/login?login_challenge={}",
            srv.public,
            urlencode(&challenge)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["client"]["client_name"], "Web App");
    assert_eq!(
        info["requested_scope"],
        serde_json::json!(["openid", "profile", "email", "offline"])
    );
    assert_eq!(info["login_hint"], "alice@example.com");
    assert_eq!(info["skip"], false);

    let accept_url = format!(
        "{}/api/hydra/login/accept?login_challenge={}",
        srv.public,
        urlencode(&challenge)
    );
    let res = b.put(&accept_url).send().await.unwrap();
    assert_eq!(error_code(res, 401, "login_required").await, 2004);

    // Log in on another flow to get a session, then accept this challenge with it.
    login_for_code(&srv, &b, &[]).await;
    let res = b.put(&accept_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let to = body["redirect_to"].as_str().unwrap();
    assert!(
        to.starts_with(&format!("{}/oauth2/auth?login_verifier=", srv.public)),
        "{to}"
    );
    let callback = follow_to_client(&b, to.to_owned()).await;
    assert!(query_param(&callback, "code").is_some());
    // Accepted once only.
    assert_eq!(
        error_code(
            b.put(&accept_url).send().await.unwrap(),
            400,
            "invalid_request"
        )
        .await,
        4010
    );
}

#[tokio::test]
async fn prompt_login_cannot_be_accepted_with_the_session_that_was_already_live() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    let res = b
        .get(srv.authorize_url(&[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    let challenge = query_param(&location(&res), "login_challenge").unwrap();
    let accept_url = format!(
        "{}/api/hydra/login/accept?login_challenge={}",
        srv.public,
        urlencode(&challenge)
    );
    assert_eq!(
        error_code(
            b.put(&accept_url).send().await.unwrap(),
            401,
            "login_required"
        )
        .await,
        2004
    );
    // The login page shows the form instead of waving the old session through.
    let html = b
        .get(format!(
            "{}/login?login_challenge={}",
            srv.ui,
            urlencode(&challenge)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"password\""));
}

/// OIDC Core §3.1.2.1 `display=popup`: the login page in its popup layout
/// (what `@oneauth/web`'s popup login asks for); any other value, or none,
/// the full page. Discovery says which values count.
#[tokio::test]
async fn display_popup_gives_the_login_page_its_popup_layout() {
    let srv = TestServer::start().await;
    let b = browser();
    for (display, popup) in [(Some("popup"), true), (Some("page"), false), (None, false)] {
        let extra: Vec<(&str, &str)> = display.iter().map(|d| ("display", *d)).collect();
        let res = b.get(srv.authorize_url(&extra)).send().await.unwrap();
        let login = location(&res);
        assert_eq!(
            query_param(&login, "mode").as_deref() == Some("popup"),
            popup,
            "{login}"
        );
        let html = b.get(&login).send().await.unwrap().text().await.unwrap();
        assert_eq!(
            html.contains("<body class=\"popup\">"),
            popup,
            "{display:?}"
        );
    }
    let doc: serde_json::Value = b
        .get(format!("{}/.well-known/openid-configuration", srv.public))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["display_values_supported"],
        serde_json::json!(["page", "popup"])
    );
}
