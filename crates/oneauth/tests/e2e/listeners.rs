//! The three listeners hold against slow, idle and oversized clients, over
//! raw TCP: header and body timeouts, the answer deadline, the connection
//! cap, the body limit (also on the UI), HTTP/2, shutdown; the admin
//! listener's `Host` check; private data files; client registration
//! refusing clear-text redirect URIs.

use crate::support::*;
use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// What the peer sends until it closes or `within` passes, and whether it
/// closed.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let closed = loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// One POST route per listener that reads a body, and its content type.
fn body_routes(srv: &TestServer) -> [(String, &'static str, &'static str); 3] {
    let form = "application/x-www-form-urlencoded";
    [
        (srv.public.clone(), "/oauth2/token", form),
        (srv.ui.clone(), "/login", form),
        (srv.admin.clone(), "/admin/clients", "application/json"),
    ]
}

#[tokio::test]
async fn a_half_sent_or_silent_connection_is_closed_after_the_header_timeout() {
    let srv = TestServer::start_with(|c| {
        c.http.header_read_timeout_secs = 1;
        c.http.idle_timeout_secs = 60;
    })
    .await;
    for base in [&srv.public, &srv.ui, &srv.admin] {
        let started = Instant::now();
        let mut half = connect(base).await;
        half.write_all(b"GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        let mut silent = connect(base).await;
        let (_, closed) = read_until_closed(&mut half, Duration::from_secs(5)).await;
        assert!(closed, "{base}: a half-sent request head was kept open");
        let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
        assert!(
            closed,
            "{base}: a connection that sent nothing was kept open"
        );
        assert!(started.elapsed() >= Duration::from_millis(900), "{base}");
        assert!(started.elapsed() < Duration::from_secs(4), "{base}");
    }
}

#[tokio::test]
async fn keep_alive_connections_get_the_idle_timeout_and_each_head_the_header_timeout() {
    let srv = TestServer::start_with(|c| {
        c.http.header_read_timeout_secs = 1;
        c.http.idle_timeout_secs = 3;
    })
    .await;
    let request = b"GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for base in [&srv.public, &srv.ui, &srv.admin] {
        let mut s = connect(base).await;
        for _ in 0..2 {
            s.write_all(request).await.unwrap();
            let (answer, closed) = read_until_closed(&mut s, Duration::from_millis(500)).await;
            assert!(answer.starts_with("HTTP/1.1 "), "{base}: {answer:?}");
            assert!(!closed, "{base}");
            // Quiet for longer than the header timeout: still open.
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(
            closed,
            "{base}: an idle connection outlived the idle timeout"
        );
        // A second request's head gets the header timeout, not the idle one.
        let mut s = connect(base).await;
        s.write_all(request).await.unwrap();
        let _ = read_until_closed(&mut s, Duration::from_millis(300)).await;
        s.write_all(b"GET /health/alive HTTP/1.1\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        let (_, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(closed, "{base}");
        assert!(started.elapsed() < Duration::from_millis(2500), "{base}");
    }
}

/// Sends 11 of 100 announced body bytes to each listener and expects the
/// 408 error JSON within `within`, then the connection closed.
async fn stalled_bodies_get_408(srv: &TestServer, within: Duration) {
    for (base, path, content_type) in body_routes(srv) {
        let started = Instant::now();
        let mut s = connect(&base).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: 100\r\n\r\ngrant_type="
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let (answer, closed) = read_until_closed(&mut s, within + Duration::from_secs(3)).await;
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{base}{path}: {answer:?}"
        );
        assert!(answer.contains(r#""code":4408"#), "{base}{path}: {answer}");
        assert!(answer.contains(r#""error":"request_timeout""#), "{answer}");
        assert!(closed, "{base}{path}: kept open after the 408");
        let took = started.elapsed();
        assert!(
            took >= within - Duration::from_millis(100) && took < within + Duration::from_secs(2),
            "{base}{path}: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_stalled_body_gets_a_408_after_the_body_timeout() {
    let srv = TestServer::start_with(|c| c.http.body_read_timeout_secs = 1).await;
    stalled_bodies_get_408(&srv, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_a_408() {
    // The answer deadline holds whatever takes the time; here, the body.
    let srv = TestServer::start_with(|c| {
        c.http.body_read_timeout_secs = 60;
        c.http.request_timeout_secs = 1;
    })
    .await;
    stalled_bodies_get_408(&srv, Duration::from_secs(1)).await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let srv = TestServer::start_with(|c| {
        c.http.max_connections = 2;
        c.http.header_read_timeout_secs = 30;
    })
    .await;
    for base in [&srv.public, &srv.ui, &srv.admin] {
        let holders = [connect(base).await, connect(base).await];
        let mut third = connect(base).await;
        third
            .write_all(b"GET /health/alive HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
        assert!(
            early.is_err(),
            "{base}: a third connection was served with two open and a cap of 2"
        );
        drop(holders);
        let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
            .await
            .expect("served once a connection closed")
            .unwrap();
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 "),
            "{base}: {:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served_on_every_listener() {
    let srv = TestServer::start().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for url in [
        format!("{}/health/alive", srv.public),
        format!("{}/login", srv.ui),
        // The admin listener's Host check reads HTTP/2's `:authority`.
        format!("{}/admin/clients", srv.admin),
    ] {
        let res = h2.get(&url).send().await.unwrap();
        assert_eq!(res.version(), reqwest::Version::HTTP_2, "{url}");
        assert_eq!(res.status(), 200, "{url}");
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_connections() {
    let mut srv = TestServer::start().await;
    let _silent = connect(&srv.public).await;
    let mut kept = connect(&srv.ui).await;
    kept.write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let _ = kept.read(&mut buf).await.unwrap();
    let running = srv.running.take().unwrap();
    tokio::time::timeout(Duration::from_secs(3), running.shutdown())
        .await
        .expect("shutdown waited for idle connections")
        .unwrap();
}

#[tokio::test]
async fn bodies_over_the_limit_get_the_413_json_on_every_listener() {
    let srv = TestServer::start().await;
    let big = format!("identifier={}", "a".repeat(100 * 1024));
    for (base, path, content_type) in body_routes(&srv) {
        // Announced: refused before the body is read.
        let res = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(res, 413, "invalid_request").await,
            4413,
            "{base}{path}"
        );
        // Chunked, with no length announced: refused when it passes.
        let mut s = connect(&base).await;
        let chunk = "a".repeat(70 * 1024);
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let (answer, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{base}{path}: {answer:?}"
        );
        assert!(answer.contains(r#""code":4413"#), "{base}{path}: {answer}");
    }
}

#[tokio::test]
async fn without_a_token_the_admin_listener_answers_loopback_hosts_only() {
    let srv = TestServer::start().await;
    let port = srv.admin.rsplit(':').next().unwrap().to_owned();
    let get = |host: String| {
        reqwest::Client::new()
            .get(format!("{}/admin/clients", srv.admin))
            .header(reqwest::header::HOST, host)
            .send()
    };
    for host in [
        format!("evil.example:{port}"),
        "evil.example".into(),
        format!("127.0.0.1.evil.example:{port}"),
    ] {
        let res = get(host.clone()).await.unwrap();
        assert_eq!(error_code(res, 403, "access_denied").await, 3001, "{host}");
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "localhost".into(),
    ] {
        let res = get(host.clone()).await.unwrap();
        assert_eq!(res.status(), 200, "{host}");
    }
    // With a token, the token guards the listener, whatever the name.
    let token = "an-admin-token-of-some-length";
    let srv = TestServer::start_with(|c| c.admin_token = token.into()).await;
    let res = reqwest::Client::new()
        .get(format!("{}/admin/clients", srv.admin))
        .header(reqwest::header::HOST, "admin.internal.example")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_data_directory_and_database_files_are_the_owners_only() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let srv = TestServer::start_with(|c| {
        c.data_dir = data.clone();
        // The development secret is generated into the data directory.
        c.secrets.system.clear();
    })
    .await;
    assert_eq!(mode(&data), 0o700);
    // Start-up wrote keys, a client and a user: the WAL files exist.
    for file in [
        "oneauth.db",
        "oneauth.db-wal",
        "oneauth.db-shm",
        "system.secret",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    drop(srv);
    // A database made world-readable by an older version is narrowed.
    let old = parent.path().join("old");
    std::fs::create_dir(&old).unwrap();
    let db = old.join("oneauth.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _srv = TestServer::start_with(|c| c.data_dir = old.clone()).await;
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&old.join("oneauth.db-wal")), 0o600);
}

#[tokio::test]
async fn registration_refuses_http_redirect_uris_off_loopback() {
    let srv = TestServer::start().await;
    let register =
        |body: serde_json::Value| post_json(format!("{}/admin/clients", srv.admin), body);
    for (field, uri) in [
        ("redirect_uris", "http://app.example/cb"),
        ("post_logout_redirect_uris", "http://app.example/logged-out"),
    ] {
        let mut body = serde_json::json!({"redirect_uris": ["https://app.example/cb"]});
        body[field] = serde_json::json!([uri]);
        let res = register(body).await;
        assert_eq!(res.status(), 400);
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"], "invalid_redirect_uri", "{err}");
        assert_eq!(err["code"], 4013);
        assert!(s(&err["error_description"]).contains(uri), "{err}");
    }
    // RFC 8252 §7.3 loopback redirects, and https, stay allowed.
    let res = register(serde_json::json!({
        "redirect_uris": [
            "http://127.0.0.1:4000/cb",
            "http://[::1]:4000/cb",
            "http://localhost:4000/cb",
            "https://app.example/cb"
        ],
        "post_logout_redirect_uris": ["http://localhost:4000/out", "https://app.example/out"]
    }))
    .await;
    assert_eq!(res.status(), 201);
    // A development setting allows them.
    let dev = TestServer::start_with(|c| c.allow_http_redirect_uris = true).await;
    let res = post_json(
        format!("{}/admin/clients", dev.admin),
        serde_json::json!({"redirect_uris": ["http://app.example/cb"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
}

/// `oneauth clients create` with a fresh data directory: success, stdout,
/// stderr.
fn cli_create(redirect: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "clients",
            "create",
            "--id",
            "cli-app",
            "--redirect-uri",
            redirect,
        ])
        .env(
            "ONEAUTH_SECRETS__SYSTEM",
            "test-system-secret-0123456789abcdef",
        )
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn the_cli_refuses_http_redirect_uris_off_loopback() {
    let (ok, _, err) = cli_create("http://app.example/cb", &[]);
    assert!(!ok);
    assert!(
        err.contains("http://app.example/cb") && err.contains("use https"),
        "{err}"
    );
    let (ok, out, err) = cli_create("http://127.0.0.1:4000/cb", &[]);
    assert!(ok, "{err}");
    assert!(out.contains("\"client_id\": \"cli-app\""), "{out}");
    let (ok, _, err) = cli_create(
        "http://app.example/cb",
        &[("ONEAUTH_ALLOW_HTTP_REDIRECT_URIS", "true")],
    );
    assert!(ok, "{err}");
}
