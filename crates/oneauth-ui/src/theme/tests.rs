use super::*;
use crate::i18n::EN;
use crate::{Chrome, MessagePage};
use axum::http::StatusCode;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

fn message<'a>(theme: &'a Theme, text: &str) -> MessagePage<'a> {
    MessagePage {
        c: Chrome {
            t: &EN,
            brand: "Acme",
            logo: "",
            popup: false,
            theme,
        },
        heading: "Hello",
        text: text.into(),
        is_error: false,
        code: None,
        request_id: None,
        way_on: None,
    }
}

#[test]
fn without_a_directory_every_page_is_built_in() {
    let theme = Theme::load(Path::new("")).unwrap();
    assert!(theme.render(&message(&theme, "hi")).is_none());
    assert!(theme.asset("style.css").is_none());
}

#[test]
fn an_override_gets_the_page_context_escaped_and_the_built_in_layout() {
    let dir = dir_with(&[(
        "message.html",
        r#"{% extends "base.html" %}{% block content %}<h1 class="mine">{{ heading }}</h1><p>{{ text }}</p><p>{{ c.t.sign_in }}</p>{% endblock %}"#,
    )]);
    let theme = Theme::load(dir.path()).unwrap();
    let html = theme
        .render(&message(&theme, "<script>alert(1)</script>"))
        .unwrap()
        .unwrap();
    assert!(html.contains(r#"<h1 class="mine">Hello</h1>"#), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("<p>Sign in</p>"),
        "the catalog is there: {html}"
    );
    assert!(
        html.contains(r#"<link rel="stylesheet" href="/assets/style.css">"#),
        "built-in base.html: {html}"
    );
}

#[test]
fn an_operator_base_frames_built_in_pages() {
    let dir = dir_with(&[(
        "base.html",
        r#"<html><title>{% block title %}{% endblock %} | {{ c.brand }}</title><body><header>ACME HEADER</header>{% block content %}{% endblock %}</body></html>"#,
    )]);
    let theme = Theme::load(dir.path()).unwrap();
    let html = theme.render(&message(&theme, "a < b")).unwrap().unwrap();
    assert!(html.contains("<title>Hello | Acme</title>"), "{html}");
    assert!(html.contains("<header>ACME HEADER</header>"), "{html}");
    // The built-in content block, escaped once by askama, not twice.
    assert!(html.contains("<h1>Hello</h1>"), "{html}");
    assert!(
        html.contains("a &#60; b") || html.contains("a &lt; b"),
        "{html}"
    );
    assert!(!html.contains("&amp;"), "double escaping: {html}");
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let dir = dir_with(&[("login.html", "<p>fine</p>\n<p>{% if %}</p>\n")]);
    let err = format!("{:#}", Theme::load(dir.path()).err().unwrap());
    assert!(err.contains("login.html"), "{err}");
    assert!(err.contains("login.html:2"), "line number: {err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn a_file_that_names_no_page_is_refused_but_partials_are_included() {
    let dir = dir_with(&[("logn.html", "typo")]);
    let err = format!("{:#}", Theme::load(dir.path()).err().unwrap());
    assert!(err.contains("logn.html names no page"), "{err}");

    let dir = dir_with(&[
        ("_footer.html", "<footer>{{ c.brand }}</footer>"),
        (
            "message.html",
            r#"<p>{{ text }}</p>{% include "_footer.html" %}"#,
        ),
    ]);
    let theme = Theme::load(dir.path()).unwrap();
    let html = theme.render(&message(&theme, "x")).unwrap().unwrap();
    assert_eq!(html, "<p>x</p><footer>Acme</footer>");
}

#[test]
fn static_files_replace_and_add_assets() {
    let dir = dir_with(&[
        ("static/style.css", "body { color: red }"),
        ("static/img/logo.svg", "<svg/>"),
    ]);
    let theme = Theme::load(dir.path()).unwrap();
    let css = theme.asset("style.css").unwrap();
    assert_eq!(css.mime, "text/css");
    assert_eq!(&css.data[..], b"body { color: red }");
    assert_eq!(theme.asset("img/logo.svg").unwrap().mime, "image/svg+xml");
    assert!(
        theme.render(&message(&theme, "x")).is_none(),
        "no page replaced"
    );
}

#[tokio::test]
async fn a_render_error_answers_the_built_in_error_page_without_internals() {
    let dir = dir_with(&[("message.html", "<p>{{ no_such_field }}</p>")]);
    let theme = Theme::load(dir.path()).unwrap();
    let res = crate::render(StatusCode::OK, message(&theme, "x"));
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(body.contains("5001"), "{body}");
    assert!(body.contains(EN.error), "the built-in error page: {body}");
    assert!(!body.contains("no_such_field"), "no internals: {body}");
    assert!(!body.contains("undefined"), "no internals: {body}");
}
