//! Serves one listener with hyper (HTTP/1.1, and HTTP/2 with prior
//! knowledge): at most `max_connections` open connections (more wait in
//! the kernel's accept queue), a deadline for each request head, an idle
//! limit between requests, and graceful shutdown. `axum::serve` offers
//! none of these settings. Body and answer time limits are per request, in
//! `oneauth_http::guard`.
//!
//! Hyper's own header timeout is not used: it also runs while a
//! keep-alive connection waits for its next request, so idle connections
//! would be closed as early as half-sent heads, and a load balancer
//! reusing them would meet closed ones. Here a connection has `header`
//! from its first byte (or from its start) to a complete request head,
//! and `idle` between requests with nothing sent.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub max_connections: usize,
    /// `http.header_read_timeout_secs`.
    pub header: Duration,
    /// `http.idle_timeout_secs`.
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
        .header_read_timeout(None);
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
            settings,
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
    settings: Settings,
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
    let io = Watched {
        stream,
        activity: activity.clone(),
    };
    let conn = builder.serve_connection(TokioIo::new(io), service);
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
            () = activity.overdue(settings) => {
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

/// What a connection is doing, for its deadlines.
struct Activity {
    state: Mutex<State>,
    /// A request head started to arrive: its deadline is nearer.
    head_started: Notify,
}

struct State {
    in_progress: usize,
    /// When the connection opened, or its last request ended.
    quiet_since: Instant,
    /// The first byte after `quiet_since`, when one came.
    head_since: Option<Instant>,
    served: bool,
}

struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                in_progress: 0,
                quiet_since: Instant::now(),
                head_since: None,
                served: false,
            }),
            head_started: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        let mut s = self.state();
        s.in_progress += 1;
        s.head_since = None;
        s.served = true;
        Busy(self.clone())
    }

    fn bytes_arrived(&self) {
        let mut s = self.state();
        if s.in_progress == 0 && s.head_since.is_none() {
            s.head_since = Some(Instant::now());
            drop(s);
            self.head_started.notify_waiters();
        }
    }

    /// When the connection has to be closed if nothing changes: `header`
    /// after a request head's first byte, or after opening (a connection
    /// is for requests); `idle` after the last answer. None while a
    /// request is in progress (its own limits hold).
    fn deadline(&self, settings: Settings) -> Option<Instant> {
        let s = self.state();
        match (s.in_progress, s.head_since, s.served) {
            (1.., _, _) => None,
            (0, Some(head), _) => Some(head + settings.header),
            (0, None, false) => Some(s.quiet_since + settings.header),
            (0, None, true) => Some(s.quiet_since + settings.idle),
        }
    }

    /// Completes once the connection is past its deadline.
    async fn overdue(&self, settings: Settings) {
        loop {
            let changed = self.head_started.notified();
            let wake = match self.deadline(settings) {
                Some(at) if at <= Instant::now() => return,
                Some(at) => at,
                // Rechecked then: requests end before their own deadlines.
                None => Instant::now() + settings.header,
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = changed => {}
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.in_progress -= 1;
        s.quiet_since = Instant::now();
    }
}

/// The connection's socket, telling [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
