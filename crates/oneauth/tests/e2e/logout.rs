//! Logout: the guide's two steps and OIDC RP-Initiated Logout, with no
//! open redirects, and no logout CSRF: without a valid `id_token_hint` of
//! the session's user, the user confirms on the UI's `/logout` page first.

use crate::support::*;

fn cookie_cleared(res: &reqwest::Response) -> bool {
    res.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("ory_kratos_session=;")
            || c.to_str().unwrap().contains("Max-Age=0")
    })
}

async fn logged_in(srv: &TestServer) -> (reqwest::Client, serde_json::Value) {
    let b = browser();
    let t = tokens(srv, &b).await;
    (b, t)
}

async fn password_asked_again(srv: &TestServer, b: &reqwest::Client) -> bool {
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    location(&res).contains("/login?login_challenge=")
}

#[tokio::test]
async fn guide_logout_asks_then_goes_back_to_a_registered_origin_and_ends_the_session() {
    let srv = TestServer::start().await;
    let (b, _) = logged_in(&srv).await;
    assert!(!password_asked_again(&srv, &b).await);
    // The guide's step 2, exactly as shown: no id_token_hint.
    let res = b
        .get(format!(
            "{}/api/auth/logout?post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        !cookie_cleared(&res),
        "nothing ends before the user confirms"
    );
    assert!(
        !password_asked_again(&srv, &b).await,
        "the session is still alive"
    );
    let res = confirm_logout(&srv, &b, &location(&res)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        "http://127.0.0.1:3000",
        "the same place as before"
    );
    assert!(cookie_cleared(&res), "the cookie is cleared");
    assert!(
        password_asked_again(&srv, &b).await,
        "the session ended on the server"
    );
}

#[tokio::test]
async fn guide_logout_never_redirects_to_unregistered_places() {
    let srv = TestServer::start().await;
    for target in [
        "https://evil.example",
        "//evil.example",
        "javascript:alert(1)",
        "http://127.0.0.1:3000@evil.example",
        "http://evil.example?http://127.0.0.1:3000",
        "http://127.0.0.1:3000/any/path",
        "http://127.0.0.1:3000.evil.example",
        "HTTP://127.0.0.1:3001",
    ] {
        let (b, _) = logged_in(&srv).await;
        let res = b
            .get(format!(
                "{}/api/auth/logout?post_logout_redirect_uri={}",
                srv.public,
                urlencode(target)
            ))
            .send()
            .await
            .unwrap();
        let to = location(&res);
        assert_eq!(
            to,
            format!("{}/logout", srv.ui),
            "{target} must not be followed, nor carried to the confirmation"
        );
        let res = confirm_logout(&srv, &b, &to).await;
        assert_eq!(location(&res), format!("{}/logged-out", srv.ui), "{target}");
        assert!(
            password_asked_again(&srv, &b).await,
            "logout still happened"
        );
    }
    let page = browser()
        .get(format!("{}/logged-out", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn registered_post_logout_uris_are_followed_exactly() {
    let srv = TestServer::start().await;
    let (b, t) = logged_in(&srv).await;
    let url = format!(
        "{}/api/auth/logout?post_logout_redirect_uri={}",
        srv.public,
        urlencode("http://127.0.0.1:3000/logged-out")
    );
    let res = b.get(&url).send().await.unwrap();
    let res = confirm_logout(&srv, &b, &location(&res)).await;
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out");

    // With an id_token_hint of the session's user: at once.
    let (b, _) = logged_in(&srv).await;
    let res = b
        .get(format!("{url}&id_token_hint={}", s(&t["id_token"])))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out");
    assert!(cookie_cleared(&res));
    assert!(password_asked_again(&srv, &b).await);
}

#[tokio::test]
async fn rp_initiated_logout_checks_the_id_token_hint_and_passes_state() {
    let srv = TestServer::start().await;
    let (b, t) = logged_in(&srv).await;
    let url = format!(
        "{}/oauth2/sessions/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
        srv.public,
        s(&t["id_token"]),
        urlencode("http://127.0.0.1:3000/logged-out")
    );
    let res = b.get(&url).send().await.unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out?state=bye");
    assert!(password_asked_again(&srv, &b).await);

    // Unregistered target or forged hint: an error, no redirect.
    let (b, t) = logged_in(&srv).await;
    let res = b
        .get(format!(
            "{}/oauth2/sessions/logout?id_token_hint={}&post_logout_redirect_uri={}",
            srv.public,
            s(&t["id_token"]),
            urlencode("https://evil.example/")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
    let mut forged = s(&t["id_token"]);
    forged.push('x');
    let res = b
        .get(format!(
            "{}/oauth2/sessions/logout?id_token_hint={forged}&post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000/logged-out")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
    // Without a hint or target: asked, then the logged-out page.
    let res = b
        .get(format!("{}/oauth2/sessions/logout", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("{}/logout", srv.ui));
    let res = confirm_logout(&srv, &b, &location(&res)).await;
    assert_eq!(location(&res), format!("{}/logged-out", srv.ui));
}

/// RP-initiated logout by `client_id`, without a hint.
fn rp_logout_url(srv: &TestServer, extra: &str) -> String {
    format!(
        "{}/oauth2/sessions/logout?client_id=web-app&post_logout_redirect_uri={}&state=bye{extra}",
        srv.public,
        urlencode("http://127.0.0.1:3000/logged-out")
    )
}

#[tokio::test]
async fn rp_logout_without_a_hint_keeps_the_session_until_the_user_confirms() {
    let srv = TestServer::start().await;
    let (b, _) = logged_in(&srv).await;
    let res = b.get(rp_logout_url(&srv, "")).send().await.unwrap();
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/logout?target=", srv.ui)),
        "{to}"
    );
    assert!(!cookie_cleared(&res));
    assert!(!password_asked_again(&srv, &b).await, "still signed in");

    // The page asks, in the browser's language, and works without script.
    let page = b.get(&to).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Sign out?</h1>"), "{html}");
    assert!(html.contains(r#"<form method="post" action="/logout">"#));
    assert!(!html.contains("<script"));
    let zh = b
        .get(&to)
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert!(zh.text().await.unwrap().contains("<h1>退出登录？</h1>"));

    // A cross-site form without the CSRF token ends nothing.
    let target = hidden(&html, "target").unwrap();
    let res = b
        .post(format!("{}/logout", srv.ui))
        .form(&[("target", target.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!password_asked_again(&srv, &b).await, "still signed in");

    let res = confirm_logout(&srv, &b, &to).await;
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out?state=bye");
    assert!(cookie_cleared(&res));
    assert!(password_asked_again(&srv, &b).await, "the session ended");
}

#[tokio::test]
async fn a_hint_of_another_user_asks_too() {
    let srv = TestServer::start().await;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    srv.services()
        .identities
        .create("bob@example.com", Some(PASSWORD), None, now)
        .await
        .unwrap();
    // Bob's id_token, from another browser.
    let bob = browser();
    let res = bob
        .get(srv.authorize_url(&[("login_hint", "bob@example.com")]))
        .send()
        .await
        .unwrap();
    let login = location(&res);
    let page = bob.get(&login).send().await.unwrap().text().await.unwrap();
    let res = bob
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", hidden(&page, "csrf_token").unwrap().as_str()),
            (
                "login_challenge",
                hidden(&page, "login_challenge").unwrap().as_str(),
            ),
            ("method", "password"),
            ("identifier", "bob@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let callback = follow_to_client(&bob, location(&res)).await;
    let code = query_param(&callback, "code").unwrap();
    let bobs: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();

    let (alice, _) = logged_in(&srv).await;
    let res = alice
        .get(rp_logout_url(
            &srv,
            &format!("&id_token_hint={}", s(&bobs["id_token"])),
        ))
        .send()
        .await
        .unwrap();
    assert!(location(&res).starts_with(&format!("{}/logout?target=", srv.ui)));
    assert!(
        !password_asked_again(&srv, &alice).await,
        "Alice is still signed in"
    );
}

#[tokio::test]
async fn without_a_session_logout_goes_on_at_once() {
    let srv = TestServer::start().await;
    let res = browser().get(rp_logout_url(&srv, "")).send().await.unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out?state=bye");
    // A confirmation link opened after the session ended elsewhere.
    let (b, _) = logged_in(&srv).await;
    let to = location(&b.get(rp_logout_url(&srv, "")).send().await.unwrap());
    let res = browser().get(&to).send().await.unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out?state=bye");
}

#[tokio::test]
async fn the_confirmation_follows_only_destinations_the_server_sealed() {
    let srv = TestServer::start().await;
    let (b, _) = logged_in(&srv).await;
    let to = location(&b.get(rp_logout_url(&srv, "")).send().await.unwrap());
    let page = b.get(&to).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&page, "csrf_token").unwrap();
    for forged in [
        "https://evil.example/".to_owned(),
        oneauth_crypto::b64url("https://evil.example/"),
        format!("{}x", hidden(&page, "target").unwrap()),
    ] {
        let (b, _) = logged_in(&srv).await;
        let page = b.get(&to).send().await.unwrap().text().await.unwrap();
        let csrf = hidden(&page, "csrf_token").unwrap();
        let res = b
            .post(format!("{}/logout", srv.ui))
            .form(&[("csrf_token", csrf.as_str()), ("target", forged.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), format!("{}/logged-out", srv.ui), "{forged}");
    }
    // A sealed destination expires with the login challenges.
    srv.clock.advance(time::Duration::seconds(
        srv.services().config.tokens.challenge_ttl_secs as i64 + 1,
    ));
    let res = b
        .post(format!("{}/logout", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("target", hidden(&page, "target").unwrap().as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("{}/logged-out", srv.ui));
}

#[tokio::test]
async fn an_access_token_is_not_an_id_token_hint() {
    let srv = TestServer::start_with(|c| {
        c.tokens.access_token_strategy = oneauth_core::config::AccessTokenStrategy::Jwt;
    })
    .await;
    let (b, t) = logged_in(&srv).await;
    let at = s(&t["access_token"]);
    assert_eq!(at.split('.').count(), 3, "a JWT access token: {at}");
    for url in [
        format!(
            "{}/oauth2/sessions/logout?id_token_hint={at}&post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000/logged-out")
        ),
        format!("{}/api/auth/logout?id_token_hint={at}", srv.public),
    ] {
        let res = b.get(&url).send().await.unwrap();
        assert_eq!(error_code(res, 400, "invalid_request").await, 4001, "{url}");
    }
    assert!(!password_asked_again(&srv, &b).await, "still signed in");
    // The id_token of the same response is one.
    let res = b
        .get(format!(
            "{}/oauth2/sessions/logout?id_token_hint={}",
            srv.public,
            s(&t["id_token"])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("{}/logged-out", srv.ui));
}

#[tokio::test]
async fn control_characters_in_a_post_logout_uri_never_reach_the_location_header() {
    let srv = TestServer::start().await;
    for raw in [
        "http://127.0.0.1:3000\n",
        "http://127.0.0.1:\t3000",
        "http://127.0.0.1:3000/\r\n",
    ] {
        // No session: the guide's logout goes on at once, to the parsed origin.
        let res = browser()
            .get(format!(
                "{}/api/auth/logout?post_logout_redirect_uri={}",
                srv.public,
                urlencode(raw)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{raw:?}");
        assert_eq!(location(&res), "http://127.0.0.1:3000", "{raw:?}");
        // RP-initiated logout matches registered URIs exactly: an error.
        let res = browser()
            .get(format!(
                "{}/oauth2/sessions/logout?client_id=web-app&post_logout_redirect_uri={}",
                srv.public,
                urlencode(&format!("{raw}logged-out"))
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, 400, "invalid_request").await,
            4001,
            "{raw:?}"
        );
    }
}

#[tokio::test]
async fn a_repeated_logout_parameter_is_a_json_error() {
    let srv = TestServer::start().await;
    let twice = format!(
        "post_logout_redirect_uri={0}&post_logout_redirect_uri={0}",
        urlencode("http://127.0.0.1:3000")
    );
    for url in [
        format!("{}/api/auth/logout?{twice}", srv.public),
        format!(
            "{}/oauth2/sessions/logout?client_id=web-app&{twice}",
            srv.public
        ),
    ] {
        let res = browser().get(&url).send().await.unwrap();
        assert_eq!(error_code(res, 400, "invalid_request").await, 4001, "{url}");
    }
}
