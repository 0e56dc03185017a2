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
