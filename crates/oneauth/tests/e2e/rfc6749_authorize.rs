//! RFC 6749 §4.1.2.1: which authorization errors go to the client and
//! which stay on our error page.

use crate::support::*;

async fn error_page(srv: &TestServer, extra: &[(&str, &str)]) -> String {
    let res = browser()
        .get(srv.authorize_url(extra))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/error?", srv.ui)),
        "must not redirect to an unverified URI: {to}"
    );
    let page = browser().get(&to).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("role=\"alert\""));
    to
}

#[tokio::test]
async fn an_unknown_client_gets_the_error_page() {
    let srv = TestServer::start().await;
    let to = error_page(&srv, &[("client_id", "nope")]).await;
    assert_eq!(query_param(&to, "code").as_deref(), Some("4001"));
}

/// The error page as a browser gets it: its text and the `x-request-id`
/// of its answer.
async fn open_error_page(url: &str) -> (String, String) {
    let page = browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let id = page.headers()["x-request-id"].to_str().unwrap().to_owned();
    (page.text().await.unwrap(), id)
}

#[tokio::test]
async fn the_error_page_says_what_went_wrong_and_shows_a_way_on() {
    let srv = TestServer::start().await;
    // An unknown client: plain words, the request id, the login page.
    let to = error_page(&srv, &[("client_id", "nope")]).await;
    let (html, id) = open_error_page(&to).await;
    assert!(
        html.contains("The request from the application is not valid"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<span id=\"request-id\">{id}</span>")),
        "{id}: {html}"
    );
    assert!(html.contains("href=\"/login\""), "{html}");
    // A registered client with a wrong redirect URI: back to the origin
    // of its registered one, never to the presented URI.
    let to = error_page(&srv, &[("redirect_uri", "https://evil.example/callback")]).await;
    let (html, id) = open_error_page(&to).await;
    assert!(html.contains("an address it has not registered"), "{html}");
    assert!(html.contains(&id), "{html}");
    assert!(html.contains("href=\"http://127.0.0.1:3000\""), "{html}");
    assert!(html.contains("Back to the application"), "{html}");
    assert!(!html.contains("evil.example"), "{html}");
    // In Chinese when the client asked for it.
    let to = error_page(
        &srv,
        &[
            ("redirect_uri", "https://evil.example/callback"),
            ("ui_locales", "zh-CN"),
        ],
    )
    .await;
    let (html, _) = open_error_page(&to).await;
    assert!(html.contains("应用要求跳转到一个未登记的地址"), "{html}");
    assert!(html.contains("返回应用"), "{html}");
    // The page's words come from the catalog, never from the URL, and an
    // unknown client_id leads to the login page.
    let crafted = format!(
        "{}/error?error=invalid_request&error_description=Call+0800+123+456&code=4001&client_id=nope",
        srv.ui
    );
    let (html, _) = open_error_page(&crafted).await;
    assert!(!html.contains("0800"), "{html}");
    assert!(html.contains("href=\"/login\""), "{html}");
}

#[tokio::test]
async fn a_redirect_uri_mismatch_gets_the_error_page() {
    let srv = TestServer::start().await;
    for uri in [
        "http://127.0.0.1:3000/callback/",
        "http://127.0.0.1:3000/callback?x=1",
        "https://evil.example/callback",
        "http://127.0.0.1:3000/CALLBACK",
    ] {
        let to = error_page(&srv, &[("redirect_uri", uri)]).await;
        assert_eq!(query_param(&to, "code").as_deref(), Some("4005"), "{uri}");
    }
}

async fn client_error(srv: &TestServer, extra: &[(&str, &str)]) -> String {
    let res = browser()
        .get(srv.authorize_url(extra))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some("st-123"),
        "state passes through"
    );
    assert_eq!(
        query_param(&to, "iss").as_deref(),
        Some(srv.public.as_str())
    );
    query_param(&to, "error").unwrap()
}

#[tokio::test]
async fn a_scope_the_client_may_not_ask_for_is_invalid_scope() {
    let srv = TestServer::start().await;
    assert_eq!(
        client_error(&srv, &[("scope", "openid admin")]).await,
        "invalid_scope"
    );
}

#[tokio::test]
async fn only_response_type_code_is_supported() {
    let srv = TestServer::start().await;
    assert_eq!(
        client_error(&srv, &[("response_type", "token")]).await,
        "unsupported_response_type"
    );
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let srv = TestServer::start().await;
    assert_eq!(
        client_error(&srv, &[("prompt", "none")]).await,
        "login_required"
    );
}

#[tokio::test]
async fn a_malformed_max_age_is_invalid_request() {
    let srv = TestServer::start().await;
    assert_eq!(
        client_error(&srv, &[("max_age", "-1")]).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn a_repeated_parameter_is_refused() {
    let srv = TestServer::start().await;
    let url = format!("{}&client_id=web-app", srv.authorize_url(&[]));
    let res = browser().get(url).send().await.unwrap();
    assert!(location(&res).starts_with(&format!("{}/error?", srv.ui)));
}

#[tokio::test]
async fn the_error_page_speaks_the_requested_language() {
    let srv = TestServer::start().await;
    let res = browser()
        .get(srv.authorize_url(&[("client_id", "nope"), ("ui_locales", "zh-CN")]))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert_eq!(query_param(&to, "ui_locales").as_deref(), Some("zh-CN"));
    let html = browser()
        .get(&to)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("lang=\"zh-CN\"") && html.contains("请求无效"),
        "{html}"
    );
}

#[tokio::test]
async fn the_way_back_is_the_clients_registered_home_page_when_it_has_one() {
    let srv = TestServer::start().await;
    let mut reg = guide_client();
    reg.client_id = Some("with-home".into());
    reg.client_uri = Some("https://home.example/start".into());
    srv.server()
        .create_client(reg, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let to = error_page(
        &srv,
        &[
            ("client_id", "with-home"),
            ("redirect_uri", "https://evil.example/callback"),
        ],
    )
    .await;
    let (html, _) = open_error_page(&to).await;
    assert!(
        html.contains("href=\"https://home.example/start\""),
        "{html}"
    );
    assert!(!html.contains("evil.example"), "{html}");
}

#[tokio::test]
async fn an_error_inside_a_flow_shows_the_request_id_and_a_way_on_too() {
    let srv = TestServer::start().await;
    let b = browser();
    for path in [
        "/consent?consent_challenge=no-such-challenge",
        "/login?login_challenge=no-such-challenge",
        "/consent",
    ] {
        let res = b.get(format!("{}{path}", srv.ui)).send().await.unwrap();
        assert!(res.status().is_client_error(), "{path}");
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let html = res.text().await.unwrap();
        assert!(html.contains("role=\"alert\""), "{path}: {html}");
        assert!(
            html.contains(&format!("<span id=\"request-id\">{id}</span>")),
            "{path}: {html}"
        );
        assert!(html.contains("<a href=\"/login\">"), "{path}: {html}");
    }
}
