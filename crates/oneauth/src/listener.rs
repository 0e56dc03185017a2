//! Serves one listener with hyper (HTTP/1.1, and HTTP/2 with prior
//! knowledge): at most `max_connections` open connections (more wait in
//! the kernel's accept queue), connections without a request in progress
//! closed after `idle` (this also bounds a half-sent request head, and a
//! connection that never sends one), and graceful shutdown. `axum::serve`
//! offers none of these settings. Body and answer time limits are per
//! request, in `oneauth_http::guard`.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub max_connections: usize,
    /// `http.header_read_timeout_secs`.
    pub idle: Duration,
}

/// Accepts until `stopped` turns true, then waits for the open
/// connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: Settings,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.idle);
    let builder = Arc::new(builder);
    loop {
        // The permit first: over the cap, connections are not accepted.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = stop_requested(&mut stopped) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stop_requested(&mut stopped) => break,
        };
        tokio::spawn(connection(
            builder.clone(),
            app.clone(),
            (stream, peer),
            settings.idle,
            stopped.clone(),
            permit,
        ));
    }
    drop(listener);
    // Every permit back: every connection has ended.
    let all = u32::try_from(settings.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// The flag only ever goes from false to true. (The borrow `wait_for`
/// returns is not `Send`: dropped here.)
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// As `axum::serve`: a peer that gave up before we accepted is no reason
/// to stop; anything else (out of file descriptors) gets a pause.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    app: Router,
    (stream, peer): (TcpStream, SocketAddr),
    idle: Duration,
    mut stopped: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let busy = activity.begin();
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                drop(busy);
                res
            }
        })
    };
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, %peer, "connection ended");
                }
                return;
            }
            () = stop_requested(&mut stopped), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(idle) => {
                // A client that ignores the close (HTTP/2 GOAWAY) or stalls
                // mid-request head is cut off one period later.
                if closing {
                    return;
                }
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Requests in progress on a connection, and when the last one ended.
struct Activity(Mutex<(usize, Instant)>);

struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self(Mutex::new((0, Instant::now())))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (usize, Instant)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.state().0 += 1;
        Busy(self.clone())
    }

    /// Completes once no request has been in progress for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let (in_progress, since) = *self.state();
            let wake = if in_progress == 0 {
                since + idle
            } else {
                Instant::now() + idle
            };
            if in_progress == 0 && wake <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(wake).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.0 -= 1;
        state.1 = Instant::now();
    }
}
