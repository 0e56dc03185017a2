//! The redirect's other end (RFC 8252 §7.3): a listener on 127.0.0.1 on a
//! port the system picks, for the one request the browser brings back.

use anyhow::{Context, bail};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long the user has to sign in.
const WAIT: Duration = Duration::from_secs(300);

pub struct Callback {
    listener: TcpListener,
}

/// What the authorization server sent back.
pub struct Answer {
    pub code: String,
    pub state: String,
}

impl Callback {
    pub async fn bind() -> anyhow::Result<Self> {
        // The IP literal, not `localhost`, which may resolve elsewhere (§8.3).
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Ok(Self { listener })
    }

    /// The redirect URI with the port: it matches the client's port-less
    /// registration `http://127.0.0.1/callback`.
    pub fn redirect_uri(&self) -> anyhow::Result<String> {
        Ok(format!(
            "http://127.0.0.1:{}/callback",
            self.listener.local_addr()?.port()
        ))
    }

    /// Waits for the browser's request to `/callback` and answers it.
    pub async fn answer(self) -> anyhow::Result<Answer> {
        tokio::time::timeout(WAIT, self.next_callback())
            .await
            .context("no sign-in within five minutes")?
    }

    async fn next_callback(&self) -> anyhow::Result<Answer> {
        loop {
            let (mut stream, _) = self.listener.accept().await?;
            let target = request_target(&mut stream).await?;
            let url = url::Url::parse(&format!("http://127.0.0.1{target}"))?;
            if url.path() != "/callback" {
                stream
                    .write_all(response("404 Not Found", "Not here.").as_bytes())
                    .await?;
                continue;
            }
            let param = |name: &str| {
                url.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let (text, answer) = match (param("code"), param("state"), param("error")) {
                (Some(code), Some(state), None) => (
                    "You are signed in. You can close this window.",
                    Ok(Answer { code, state }),
                ),
                (_, _, error) => (
                    "Sign-in failed. See the terminal.",
                    Err(anyhow::anyhow!(
                        "sign-in failed: {}",
                        error.unwrap_or_else(|| "no code".into())
                    )),
                ),
            };
            stream
                .write_all(response("200 OK", text).as_bytes())
                .await?;
            return answer;
        }
    }
}

/// The request line's target (`/callback?code=…`) of an HTTP/1 request.
async fn request_target(stream: &mut tokio::net::TcpStream) -> anyhow::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            bail!("the browser sent no complete request");
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Ok(target.to_owned()),
        _ => bail!("the browser sent no GET request"),
    }
}

fn response(status: &str, text: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}
