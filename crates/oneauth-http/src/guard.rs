//! Limits every request on every listener gets, whatever its handler
//! reads: the body's size and the time it may take to arrive, and the time
//! the whole answer may take. Answers are the error JSON (413, 408), also
//! on the UI listener, whose form extractor would answer plain text.

use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use oneauth_core::{Config, Error};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The limits, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    pub body_bytes: usize,
    pub body_read: Duration,
    pub answer: Duration,
}

impl RequestLimits {
    pub fn new(config: &Config) -> Self {
        Self {
            body_bytes: config.body_limit_bytes,
            body_read: Duration::from_secs(config.http.body_read_timeout_secs),
            answer: Duration::from_secs(config.http.request_timeout_secs),
        }
    }

    /// Runs `next` with the body limited and the answer timed.
    pub(crate) async fn run(&self, req: Request, next: axum::middleware::Next) -> Response {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.body_bytes as u64) {
            return ApiError(Error::PayloadTooLarge).into_response();
        }
        let tripped = Arc::new(AtomicU8::new(Tripped::No as u8));
        // Most requests (GETs) have no body: no wrapper, no timer.
        let req = if req.body().is_end_stream() {
            req
        } else {
            req.map(|inner| {
                Body::new(GuardedBody {
                    inner,
                    left: self.body_bytes,
                    deadline: Instant::now() + self.body_read,
                    sleep: None,
                    tripped: tripped.clone(),
                })
            })
        };
        let Ok(res) = tokio::time::timeout(self.answer, next.run(req)).await else {
            return ApiError(Error::RequestTimeout).into_response();
        };
        // The handler saw a failed read and answered as it does for any
        // unreadable body; the client learns what really happened.
        match tripped.load(Ordering::Relaxed) {
            t if t == Tripped::TooLarge as u8 => ApiError(Error::PayloadTooLarge).into_response(),
            t if t == Tripped::TooSlow as u8 => ApiError(Error::RequestTimeout).into_response(),
            _ => res,
        }
    }
}

#[repr(u8)]
enum Tripped {
    No,
    TooLarge,
    TooSlow,
}

/// A request body that fails once it exceeds the size limit or has not
/// ended by the deadline, and records which.
struct GuardedBody {
    inner: Body,
    left: usize,
    deadline: Instant,
    /// Made on the first read that has to wait.
    sleep: Option<Pin<Box<Sleep>>>,
    tripped: Arc<AtomicU8>,
}

impl GuardedBody {
    fn trip(
        &self,
        why: Tripped,
        what: &str,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.tripped.store(why as u8, Ordering::Relaxed);
        Poll::Ready(Some(Err(axum::Error::new(std::io::Error::other(
            what.to_owned(),
        )))))
    }
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        // Data already here is taken even past the deadline: only waiting
        // is limited.
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            let len = match &frame {
                Some(Ok(f)) => f.data_ref().map_or(0, Bytes::len),
                _ => 0,
            };
            if len > this.left {
                return this.trip(Tripped::TooLarge, "length limit exceeded");
            }
            this.left -= len;
            return Poll::Ready(frame);
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        this.trip(Tripped::TooSlow, "the body did not arrive in time")
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
