//! `ui.templates_dir`: an operator's template replaces a page (and only
//! that page), keeps the built-in page's escaping and CSRF protection, and
//! a broken one stops start-up with its file and line; `messages/` texts
//! replace the courier's.

use crate::support::*;
use std::path::Path;

/// A login page in the operator's words: everything the built-in page
/// needs comes from the context (csrf_token, params, method, identifier).
const LOGIN: &str = r#"{% extends "base.html" %}
{% block title %}{{ c.t.sign_in }}{% endblock %}
{% block content %}
<h1 class="acme-login">Welcome to {{ c.brand }}</h1>
{% if client_name %}<p>{{ c.t.to_continue_to }} {{ client_name }}</p>{% endif %}
{% if error %}<p class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<input type="hidden" name="method" value="{{ method }}">
{% for name, value in params|items %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}
<label for="identifier">{{ c.t.identifier }}</label>
<input id="identifier" name="identifier" value="{{ identifier }}">
<label for="password">{{ c.t.password }}</label>
<input id="password" name="password" type="password">
<button type="submit">{{ c.t.sign_in }}</button>
</form>
<p><a href="/register?{{ params|urlencode }}">{{ c.t.create_account }}</a></p>
{% endblock %}
"#;

fn write(dir: &Path, name: &str, content: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

async fn with_templates(dir: &Path) -> TestServer {
    let dir = dir.to_owned();
    TestServer::start_with(move |c| c.ui.templates_dir = dir).await
}

#[tokio::test]
async fn an_overridden_login_page_is_served_escaped_and_signs_in() {
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "login.html", LOGIN);
    let srv = with_templates(templates.path()).await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let login = location(&res);
    let hostile = "\"><script>alert(1)</script>";
    let page = b
        .get(format!("{login}&email={}", urlencode(hostile)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"),
        "the security headers stay"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<h1 class="acme-login">Welcome to OneAuth</h1>"#));
    assert!(html.contains("to continue to Web App"), "{html}");
    assert!(
        html.contains(r#"<link rel="stylesheet" href="/assets/style.css">"#),
        "the built-in layout around it: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "not escaped: {html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "the prefill, escaped, in the identifier field and the hidden email: {html}"
    );
    let csrf = hidden(&html, "csrf_token").expect("a CSRF token on the form");
    let challenge = hidden(&html, "login_challenge").expect("the challenge travels");

    let res = b
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("login_challenge", challenge.as_str()),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "login POST through the overridden page");
    let callback = follow_to_client(&b, location(&res)).await;
    let code = query_param(&callback, "code").expect("a code");
    assert_eq!(exchange(&srv, &code, VERIFIER).await.status(), 200);
}

#[tokio::test]
async fn pages_without_an_override_and_assets_stay_built_in() {
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "login.html", LOGIN);
    write(
        templates.path(),
        "static/style.css",
        "body { color: #123456 }",
    );
    write(templates.path(), "static/acme.svg", "<svg/>");
    let srv = with_templates(templates.path()).await;
    let b = browser();
    let html = page_text(&b, format!("{}/register", srv.ui)).await;
    assert!(
        html.contains(r#"id="reg-password""#),
        "built-in register page"
    );
    assert!(!html.contains("acme-login"));
    let asset = |path: &'static str| b.get(format!("{}/assets/{path}", srv.ui)).send();
    let css = asset("style.css").await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css");
    assert_eq!(css.text().await.unwrap(), "body { color: #123456 }");
    assert_eq!(
        asset("acme.svg").await.unwrap().headers()["content-type"],
        "image/svg+xml"
    );
    let favicon = asset("favicon.svg").await.unwrap();
    assert_eq!(favicon.status(), 200, "embedded assets not replaced stay");
}

#[tokio::test]
async fn a_failing_override_answers_the_error_page_without_internals() {
    let templates = tempfile::tempdir().unwrap();
    write(
        templates.path(),
        "login.html",
        "<p>{{ secret_field.deeper }}</p>",
    );
    let srv = with_templates(templates.path()).await;
    let res = browser()
        .get(format!("{}/login", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let html = res.text().await.unwrap();
    assert!(html.contains("5001"), "{html}");
    assert!(html.contains("Something went wrong"), "{html}");
    assert!(!html.contains("secret_field"), "no internals: {html}");
}

#[tokio::test]
async fn a_broken_template_stops_start_up_with_its_file_and_line() {
    let templates = tempfile::tempdir().unwrap();
    write(
        templates.path(),
        "register.html",
        "<h1>Join</h1>\n<p>ok</p>\n{% for x in %}\n",
    );
    let dir = templates.path().to_owned();
    let err = match TestServer::try_start_with(move |c| c.ui.templates_dir = dir).await {
        Ok(_) => panic!("started with a broken template"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("register.html"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(err.contains("register.html:3"), "the line: {err}");
}

#[tokio::test]
async fn an_operator_message_text_is_what_the_person_receives() {
    let templates = tempfile::tempdir().unwrap();
    write(
        templates.path(),
        "messages/login_code.en.email.txt",
        "Hello from {{ brand }}! Code: {{ code }} (valid {{ minutes }} minutes)\n",
    );
    let dir = templates.path().to_owned();
    let (srv, inbox) = server_with_inbox_and(move |c| c.ui.templates_dir = dir).await;
    let b = browser();
    let html = page_text(&b, format!("{}/login?method=email_code", srv.ui)).await;
    let csrf = hidden(&html, "csrf_token").unwrap();
    let res = b
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("method", "email_code"),
            ("step", "send"),
            ("identifier", EMAIL),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = inbox.next_message(EMAIL, "login_code", 0).await;
    assert!(
        body.starts_with("Hello from OneAuth! Code: ") && body.ends_with("(valid 10 minutes)"),
        "{body}"
    );
    let code = inbox.code_for(EMAIL, "login_code").await;
    assert!(body.contains(&code));
}

#[tokio::test]
async fn the_documented_example_login_page_signs_in() {
    let doc = include_str!("../../../../docs/ui-templates.md");
    let example = doc
        .split("## Example")
        .nth(1)
        .and_then(|s| s.split("```jinja\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the example in docs/ui-templates.md");
    let templates = tempfile::tempdir().unwrap();
    write(templates.path(), "login.html", example);
    let srv = with_templates(templates.path()).await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let html = b.get(location(&res)).send().await.unwrap().text().await;
    assert!(
        html.unwrap().contains("<h1>Sign in · Web App</h1>"),
        "the example is the page served"
    );
    let code = login_for_code(&srv, &b, &[]).await;
    assert_eq!(exchange(&srv, &code, VERIFIER).await.status(), 200);
}
