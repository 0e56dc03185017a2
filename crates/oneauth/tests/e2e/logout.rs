//! Logout: the guide's two steps and OIDC RP-Initiated Logout, with no
//! open redirects.

use crate::support::*;

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
async fn guide_logout_goes_back_to_a_registered_origin_and_ends_the_session() {
    let srv = TestServer::start().await;
    let (b, _) = logged_in(&srv).await;
    assert!(!password_asked_again(&srv, &b).await);
    let res = b
        .get(format!(
            "{}/api/auth/logout?post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000");
    let cleared = res.headers().get_all("set-cookie").iter().any(|c| {
        c.to_str().unwrap().starts_with("ory_kratos_session=;")
            || c.to_str().unwrap().contains("Max-Age=0")
    });
    assert!(cleared, "the cookie is cleared");
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
            format!("{}/logged-out", srv.ui),
            "{target} must not be followed"
        );
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
    let (b, _) = logged_in(&srv).await;
    let res = b
        .get(format!(
            "{}/api/auth/logout?post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000/logged-out")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "http://127.0.0.1:3000/logged-out");
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
    // Without a hint or target: the logged-out page.
    let res = b
        .get(format!("{}/oauth2/sessions/logout", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), format!("{}/logged-out", srv.ui));
}
