use super::*;
use oneauth_core::config::{Courier as CourierConfig, SmtpTls};
use std::sync::Mutex;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

const SECRET: &str = "webhook-secret-0123456789";

async fn store() -> (tempfile::TempDir, Arc<dyn Store>, Arc<SystemKeys>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = oneauth_store::open(&url).await.unwrap();
    let keys = Arc::new(SystemKeys::derive(b"test secret test secret test secret"));
    (dir, store, keys)
}

/// Budgets in memory; the tests send freely.
fn unlimited(store: &Arc<dyn Store>) -> Arc<Limiter> {
    let cfg = oneauth_core::config::Limits {
        backend: oneauth_core::config::LimitBackend::Memory,
        ..Default::default()
    };
    Arc::new(Limiter::new(&cfg, store.clone()))
}

/// (signature header, body) of each request a receiver accepted.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver that fails its first `fail` requests with a 503.
async fn receiver(fail: usize) -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                let calls = calls.clone();
                async move {
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let sig = headers[webhook::SIGNATURE_HEADER]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    seen.lock().unwrap().push((sig, body.to_vec()));
                    axum::http::StatusCode::NO_CONTENT
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, got)
}

fn webhook_config(url: &str) -> CourierConfig {
    let mut cfg = CourierConfig {
        email_provider: EmailProvider::Webhook,
        sms_provider: SmsProvider::Webhook,
        backoff_base_secs: 10,
        max_attempts: 3,
        ..CourierConfig::default()
    };
    cfg.webhook.url = url.into();
    cfg.webhook.secret = SECRET.into();
    cfg
}

#[tokio::test]
async fn webhook_messages_are_signed_and_retried_with_back_off() {
    let (dir, store, keys) = store().await;
    let (url, got) = receiver(1).await;
    let outbox = Outbox::new(
        store.clone(),
        keys.clone(),
        "Acme",
        600,
        MessageTexts::default(),
        unlimited(&store),
        SendRule {
            cooldown_secs: 0,
            per_hour: 0,
        },
    );
    let delivery =
        Delivery::from_config(store.clone(), keys, &webhook_config(&url), dir.path()).unwrap();
    let to = Address::phone("+14155550100").unwrap();
    let id = outbox
        .enqueue(&to, Template::LoginCode("424242"), Locale::En, 1000)
        .await
        .unwrap();
    assert_eq!(delivery.run_once(1000).await.unwrap(), 1);
    let m = store.get_message(&id).await.unwrap().unwrap();
    assert_eq!((m.status, m.next_attempt_at), (MessageStatus::Queued, 1010));
    assert!(m.last_error.unwrap().contains("503"));
    assert_eq!(delivery.run_once(1005).await.unwrap(), 0, "backing off");
    assert_eq!(delivery.run_once(1010).await.unwrap(), 1);
    assert_eq!(
        store.get_message(&id).await.unwrap().unwrap().status,
        MessageStatus::Sent
    );
    let got = got.lock().unwrap();
    let (sig, body) = &got[0];
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    assert_eq!(sig, &webhook::signature(&key, body));
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["channel"], "sms");
    assert_eq!(v["to"], "+14155550100");
    assert_eq!(v["template"], "login_code");
    assert!(v["body"].as_str().unwrap().contains("424242"));
}

#[tokio::test]
async fn a_dead_provider_loses_nothing_until_the_attempts_run_out() {
    let (dir, store, keys) = store().await;
    // Nothing listens on this port.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    let outbox = Outbox::new(
        store.clone(),
        keys.clone(),
        "Acme",
        600,
        MessageTexts::default(),
        unlimited(&store),
        SendRule {
            cooldown_secs: 0,
            per_hour: 0,
        },
    );
    let delivery =
        Delivery::from_config(store.clone(), keys, &webhook_config(&url), dir.path()).unwrap();
    let to = Address::email("a@example.com").unwrap();
    let id = outbox
        .enqueue(&to, Template::RecoveryCode("111111"), Locale::En, 0)
        .await
        .unwrap();
    // Back-off doubles: 10 s, then 20 s; the third failure abandons it.
    for (now, next) in [(0, 10), (10, 30)] {
        delivery.run_once(now).await.unwrap();
        let m = store.get_message(&id).await.unwrap().unwrap();
        assert_eq!((m.status, m.next_attempt_at), (MessageStatus::Queued, next));
    }
    delivery.run_once(30).await.unwrap();
    let m = store.get_message(&id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (MessageStatus::Abandoned, 3));
    assert!(!m.last_error.unwrap().contains("111111"));
}

/// Just enough of an SMTP server (RFC 5321) to receive one message.
async fn smtp_sink() -> (u16, tokio::task::JoinHandle<String>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (sock, _) = l.accept().await.unwrap();
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
        let mut data = String::new();
        let mut in_data = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            if in_data {
                if line == "." {
                    // One message is all we wait for (lettre's pool keeps
                    // the connection open rather than QUIT).
                    w.write_all(b"250 queued\r\n").await.unwrap();
                    break;
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go on\r\n"
                }
                "QUIT" => {
                    w.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                }
                _ => b"250 ok\r\n",
            };
            w.write_all(reply).await.unwrap();
        }
        data
    });
    (port, task)
}

#[tokio::test]
async fn smtp_delivers_over_a_real_connection() {
    let (dir, store, keys) = store().await;
    let (port, sink) = smtp_sink().await;
    let mut cfg = CourierConfig {
        email_provider: EmailProvider::Smtp,
        from: "Acme <no-reply@acme.test>".into(),
        ..CourierConfig::default()
    };
    cfg.smtp.host = "127.0.0.1".into();
    cfg.smtp.port = port;
    cfg.smtp.tls = SmtpTls::None;
    let outbox = Outbox::new(
        store.clone(),
        keys.clone(),
        "Acme",
        600,
        MessageTexts::default(),
        unlimited(&store),
        SendRule {
            cooldown_secs: 0,
            per_hour: 0,
        },
    );
    let delivery = Delivery::from_config(store.clone(), keys, &cfg, dir.path()).unwrap();
    let to = Address::email("bob@example.com").unwrap();
    let id = outbox
        .enqueue(&to, Template::VerificationCode("987654"), Locale::ZhCn, 0)
        .await
        .unwrap();
    delivery.run_once(0).await.unwrap();
    let data = tokio::time::timeout(std::time::Duration::from_secs(10), sink)
        .await
        .unwrap()
        .unwrap();
    assert!(data.contains("To: bob@example.com"), "{data}");
    // The Chinese text travels base64-encoded.
    let (_, encoded) = data.split_once("\n\n").unwrap();
    let encoded: String = encoded
        .lines()
        .collect::<String>()
        .replace('+', "-")
        .replace('/', "_")
        .replace('=', "");
    let body = String::from_utf8(oneauth_crypto::b64url_decode(&encoded).unwrap()).unwrap();
    assert!(body.contains("987654") && body.contains("验证码"), "{body}");
    assert_eq!(
        store.get_message(&id).await.unwrap().unwrap().status,
        MessageStatus::Sent
    );
}

#[tokio::test]
async fn the_development_provider_writes_the_message_to_a_private_file() {
    let (dir, store, keys) = store().await;
    let outbox = Outbox::new(
        store.clone(),
        keys.clone(),
        "Acme",
        600,
        MessageTexts::default(),
        unlimited(&store),
        SendRule {
            cooldown_secs: 0,
            per_hour: 0,
        },
    );
    let delivery =
        Delivery::from_config(store.clone(), keys, &CourierConfig::default(), dir.path()).unwrap();
    let to = Address::email("a@example.com").unwrap();
    let id = outbox
        .enqueue(&to, Template::LoginCode("135790"), Locale::En, 0)
        .await
        .unwrap();
    delivery.run_once(0).await.unwrap();
    let path = dir.path().join("outbox").join(format!("{id}.txt"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("135790"));
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
