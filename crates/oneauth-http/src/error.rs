//! The one mapping from [`Error`] to an HTTP answer:
//! `{"error": "...", "error_description": "...", "code": 4006}` with the
//! status of the code's range, `WWW-Authenticate` on 401s, `Retry-After`
//! on 429s. Causes of 5xx errors go to the log, never into the body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oneauth_core::{Error, ErrorCode};
use oneauth_proto::ErrorBody;

#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        let code = err.code();
        if matches!(err, Error::Internal(_) | Error::Unavailable(_)) {
            tracing::error!(error = ?err, code = ?code.number(), "request failed");
        }
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: code.oauth_error().into(),
            error_description: err.to_string(),
            code: code.number(),
        };
        let mut res = (status, Json(body)).into_response();
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        match (&err, code) {
            (Error::RateLimited { retry_after_secs }, _) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            // RFC 6750 §3 for bearer-protected resources.
            (_, ErrorCode::InvalidToken) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
            }
            // RFC 6749 §5.2: 401 invalid_client carries the scheme the client tried.
            (_, ErrorCode::InvalidClient) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"oneauth\""),
                );
            }
            _ => {}
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
