//! The one error type of OneAuth and its stable numeric codes.
//!
//! Every failure that reaches a client is an [`Error`]. [`Error::code`] is the
//! only `match` over the variants; the HTTP status and the OAuth2 `error`
//! field follow from the [`ErrorCode`]. Numbers are pinned by a test and are
//! never reused or renumbered: clients switch on them.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable, documented error codes. The range gives the HTTP status
/// (4xxx → 400, 2xxx → 401, 3xxx → 403, 5xxx → 500), except the 44xx and
/// 55xx codes that name an HTTP status of their own (4404 → 404, 4413 →
/// 413, 5503 → 503, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidScope,
    UnsupportedResponseType,
    UnsupportedGrantType,
    RedirectUriMismatch,
    InvalidGrant,
    InvalidPkce,
    InvalidClientMetadata,
    AlreadyExists,
    InvalidChallenge,
    WeakPassword,
    InvalidSocialState,
    InvalidRedirectUri,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    UnsupportedMediaType,
    InvalidClient,
    InvalidCredentials,
    InvalidToken,
    LoginRequired,
    AdminUnauthorized,
    InvalidCode,
    SocialLoginFailed,
    ReauthenticationRequired,
    InvalidPlatformCode,
    SecondFactorRequired,
    PasskeyRefused,
    AccessDenied,
    UnauthorizedClient,
    CsrfViolation,
    ConsentRequired,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    DeviceAccessDenied,
    InvalidUserCode,
    ServerError,
    TemporarilyUnavailable,
    PlatformFailed,
    PlatformUnavailable,
    RateLimited,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 43] = [
        Self::InvalidRequest,
        Self::InvalidScope,
        Self::UnsupportedResponseType,
        Self::UnsupportedGrantType,
        Self::RedirectUriMismatch,
        Self::InvalidGrant,
        Self::InvalidPkce,
        Self::InvalidClientMetadata,
        Self::AlreadyExists,
        Self::InvalidChallenge,
        Self::WeakPassword,
        Self::InvalidSocialState,
        Self::InvalidRedirectUri,
        Self::UnauthorizedClient,
        Self::AuthorizationPending,
        Self::SlowDown,
        Self::ExpiredToken,
        Self::DeviceAccessDenied,
        Self::InvalidUserCode,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::InvalidClient,
        Self::InvalidCredentials,
        Self::InvalidToken,
        Self::LoginRequired,
        Self::AdminUnauthorized,
        Self::InvalidCode,
        Self::SocialLoginFailed,
        Self::ReauthenticationRequired,
        Self::InvalidPlatformCode,
        Self::SecondFactorRequired,
        Self::PasskeyRefused,
        Self::AccessDenied,
        Self::CsrfViolation,
        Self::ConsentRequired,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::PlatformFailed,
        Self::PlatformUnavailable,
        Self::RateLimited,
    ];

    /// Numbers no longer answered, never to be given to another error
    /// (clients may have stored them): 3002 was `unauthorized_client` at
    /// 403 before RFC 6749 §5.2's 400 (now 4014).
    pub const RETIRED: [u16; 1] = [3002];

    /// (number, OAuth2 `error` value, what it means). The number is `None`
    /// only for rate limiting, which the guide documents without a code.
    /// Long because it is the table: one arm per code, read as a list.
    const fn spec(self) -> (Option<u16>, &'static str, &'static str) {
        match self {
            Self::InvalidRequest => (
                Some(4001),
                "invalid_request",
                "The request is malformed or misses a required parameter.",
            ),
            Self::InvalidScope => (
                Some(4002),
                "invalid_scope",
                "A requested scope is unknown or not allowed for the client.",
            ),
            Self::UnsupportedResponseType => (
                Some(4003),
                "unsupported_response_type",
                "The response type is not supported or not allowed for the client.",
            ),
            Self::UnsupportedGrantType => (
                Some(4004),
                "unsupported_grant_type",
                "The grant type is not supported or not allowed for the client.",
            ),
            Self::RedirectUriMismatch => (
                Some(4005),
                "invalid_request",
                "The redirect URI is missing or not registered for the client.",
            ),
            Self::InvalidGrant => (
                Some(4006),
                "invalid_grant",
                "The code or refresh token is invalid, expired, used or bound to another client.",
            ),
            Self::InvalidPkce => (
                Some(4007),
                "invalid_request",
                "PKCE is missing or malformed, or uses a method other than S256.",
            ),
            Self::InvalidClientMetadata => (
                Some(4008),
                "invalid_client_metadata",
                "The client registration is invalid.",
            ),
            Self::AlreadyExists => (
                Some(4009),
                "already_exists",
                "The resource to create exists already.",
            ),
            Self::InvalidChallenge => (
                Some(4010),
                "invalid_request",
                "The login or consent challenge is unknown, expired or used.",
            ),
            Self::WeakPassword => (
                Some(4011),
                "weak_password",
                "The new password is too short, too common or repeats an identifier.",
            ),
            Self::InvalidSocialState => (
                Some(4012),
                "invalid_state",
                "The social login's state is missing, expired, or was started in another browser.",
            ),
            Self::InvalidRedirectUri => (
                Some(4013),
                "invalid_redirect_uri",
                "A redirect URI of the client registration is invalid or not allowed (RFC 7591 §3.2.2).",
            ),
            // RFC 8628 §3.5: the device flow's token errors, all 400.
            Self::AuthorizationPending => (
                Some(4015),
                "authorization_pending",
                "The user has not approved or denied the device authorization yet; poll again after the interval.",
            ),
            Self::SlowDown => (
                Some(4016),
                "slow_down",
                "The device polled faster than its interval; the interval grew by 5 seconds.",
            ),
            Self::ExpiredToken => (
                Some(4017),
                "expired_token",
                "The device code has expired; start a new device authorization.",
            ),
            Self::DeviceAccessDenied => (
                Some(4018),
                "access_denied",
                "The user denied the device authorization.",
            ),
            Self::InvalidUserCode => (
                Some(4019),
                "invalid_user_code",
                "The device's user code is wrong, expired or answered already.",
            ),
            Self::NotFound => (Some(4404), "not_found", "No such resource."),
            Self::MethodNotAllowed => (
                Some(4405),
                "method_not_allowed",
                "The method is not allowed on this resource.",
            ),
            Self::RequestTimeout => (
                Some(4408),
                "request_timeout",
                "The request's body did not arrive, or the answer was not ready, in time.",
            ),
            Self::PayloadTooLarge => (
                Some(4413),
                "invalid_request",
                "The request body is too large.",
            ),
            Self::UnsupportedMediaType => (
                Some(4415),
                "invalid_request",
                "The request body has the wrong content type or cannot be parsed.",
            ),
            Self::InvalidClient => (
                Some(2001),
                "invalid_client",
                "Client authentication failed.",
            ),
            Self::InvalidCredentials => (
                Some(2002),
                "invalid_credentials",
                "The identifier or the password is wrong.",
            ),
            Self::InvalidToken => (
                Some(2003),
                "invalid_token",
                "The access token is missing, invalid, expired or revoked.",
            ),
            Self::LoginRequired => (Some(2004), "login_required", "A login session is required."),
            Self::AdminUnauthorized => (
                Some(2005),
                "unauthorized",
                "The admin API needs a valid admin token.",
            ),
            Self::InvalidCode => (
                Some(2006),
                "invalid_code",
                "The one-time code is wrong, expired, used or out of attempts; for a wrong guess at the code just sent to that address, `error_description` says how many tries are left.",
            ),
            Self::SocialLoginFailed => (
                Some(2007),
                "social_login_failed",
                "The external login provider refused the login, or its answer could not be used.",
            ),
            Self::ReauthenticationRequired => (
                Some(2008),
                "reauthentication_required",
                "The action needs a recent login: sign in again (password or code), then retry.",
            ),
            Self::SecondFactorRequired => (
                Some(2010),
                "second_factor_required",
                "The login needs a second factor (an authenticator app, a passkey or a recovery code): prove it on the second-factor step, or enrol one there first.",
            ),
            Self::InvalidPlatformCode => (
                Some(2009),
                "invalid_platform_code",
                "The mini-program's code (from wx.login or getPhoneNumber) is invalid, expired or used: get a new one.",
            ),
            Self::PasskeyRefused => (
                Some(2011),
                "passkey_refused",
                "The passkey ceremony is unknown, expired or used, or the authenticator's answer did not verify (another credential, no user verification, a replay): start again.",
            ),
            Self::AccessDenied => (
                Some(3001),
                "access_denied",
                "The user or the server denied the request.",
            ),
            // Was 3002 (403) until 2026-12: RFC 6749 §5.2 answers
            // `unauthorized_client` with 400. 3002 is retired, never reused.
            Self::UnauthorizedClient => (
                Some(4014),
                "unauthorized_client",
                "The client may not use this grant, flow or endpoint.",
            ),
            Self::CsrfViolation => (
                Some(3003),
                "csrf_violation",
                "The CSRF token is missing or wrong.",
            ),
            Self::ConsentRequired => (
                Some(3004),
                "consent_required",
                "The user has to consent, and prompt=none forbids asking.",
            ),
            Self::ServerError => (
                Some(5001),
                "server_error",
                "The server could not complete the request.",
            ),
            Self::TemporarilyUnavailable => (
                Some(5002),
                "temporarily_unavailable",
                "A dependency such as the database is unavailable; retry later.",
            ),
            Self::PlatformFailed => (
                Some(5003),
                "platform_error",
                "The mini-program platform refused the server's request (its error number is in the description); the operator has to look.",
            ),
            Self::PlatformUnavailable => (
                Some(5503),
                "temporarily_unavailable",
                "The mini-program platform did not answer, or not in time; nothing was changed, retry later.",
            ),
            Self::RateLimited => (
                None,
                "rate_limited",
                "Too many requests; retry after the Retry-After header's seconds.",
            ),
        }
    }

    pub const fn number(self) -> Option<u16> {
        self.spec().0
    }

    /// The RFC 6749 §5.2-style `error` value.
    pub const fn oauth_error(self) -> &'static str {
        self.spec().1
    }

    pub const fn meaning(self) -> &'static str {
        self.spec().2
    }

    /// The HTTP status, derived from the number alone.
    pub const fn http_status(self) -> u16 {
        match self.number() {
            None => 429,
            Some(n @ 4400..=4499) => n - 4000,
            Some(4001..=4999) => 400,
            Some(2001..=2999) => 401,
            Some(3001..=3999) => 403,
            Some(n @ 5500..=5599) => n - 5000,
            Some(_) => 500,
        }
    }

    /// The generated error-code list of `docs/errors.md`.
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | HTTP | error | meaning |\n|---|---|---|---|\n");
        for c in Self::ALL {
            let n = c.number().map_or_else(|| "—".to_owned(), |n| n.to_string());
            out.push_str(&format!(
                "| {n} | {} | `{}` | {} |\n",
                c.http_status(),
                c.oauth_error(),
                c.meaning()
            ));
        }
        out
    }
}

/// Every error OneAuth answers with. The `Display` text is the public
/// `error_description`; causes of [`Error::Internal`] are logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    UnsupportedResponseType(String),
    #[error("{0}")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    RedirectUriMismatch(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    InvalidPkce(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("The challenge is unknown, expired or already used.")]
    InvalidChallenge,
    #[error("{0}")]
    WeakPassword(String),
    #[error(
        "The sign-in with the external provider expired or was started in another browser; start it again."
    )]
    InvalidSocialState,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("The method is not allowed on this resource.")]
    MethodNotAllowed,
    #[error("The request's body did not arrive, or the answer was not ready, in time; retry.")]
    RequestTimeout,
    #[error("The request body is too large.")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Client authentication failed.")]
    InvalidClient,
    #[error("The identifier or the password is wrong.")]
    InvalidCredentials,
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    LoginRequired(String),
    #[error("The admin API needs a valid admin token.")]
    AdminUnauthorized,
    /// `tries_left` only for a code that exists at the address (one its
    /// requester just asked for, so the count tells nothing new); `None`
    /// for an unknown, expired or used-up code.
    #[error("{}", invalid_code_text(*.tries_left))]
    InvalidCode { tries_left: Option<u32> },
    /// The text is public: say what failed, never the upstream's answer.
    #[error("{0}")]
    SocialLoginFailed(String),
    /// A sensitive change (a password) on a session older than
    /// `session.privileged_max_age_secs`.
    #[error("This change needs a recent login: sign in again, then retry.")]
    ReauthenticationRequired,
    /// The login (or this request's client or `acr_values`) needs a second
    /// factor that the session has not proven.
    #[error("This login needs a second factor.")]
    SecondFactorRequired,
    /// A mini-program platform refused a login or phone-number code.
    #[error("The mini-program's code is invalid, expired or used; get a new one and retry.")]
    InvalidPlatformCode,
    /// A WebAuthn ceremony that cannot finish; the text says which step.
    #[error("{0}")]
    PasskeyRefused(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    UnauthorizedClient(String),
    #[error("The CSRF token is missing or wrong; reload the page and try again.")]
    CsrfViolation,
    #[error("The user has to consent, and prompt=none forbids asking.")]
    ConsentRequired,
    #[error("The user has not answered the device authorization yet.")]
    AuthorizationPending,
    #[error("Polling too fast: wait {interval_secs} seconds between requests.")]
    SlowDown { interval_secs: i64 },
    #[error("The device code has expired.")]
    ExpiredToken,
    #[error("The user denied the device authorization.")]
    DeviceAccessDenied,
    #[error("The code is wrong, expired or answered already; check it on the device.")]
    InvalidUserCode,
    #[error("The server could not complete the request.")]
    Internal(#[source] anyhow::Error),
    #[error("The service is temporarily unavailable; retry later.")]
    Unavailable(#[source] anyhow::Error),
    /// A mini-program platform's error number the server cannot act on
    /// (its app id or secret refused, say): the number only, never the
    /// platform's text.
    #[error("The mini-program platform refused the request (error {errcode}).")]
    PlatformFailed { errcode: i64 },
    /// The cause is logged where the platform failed.
    #[error("The mini-program platform did not answer in time; nothing was changed, retry later.")]
    PlatformUnavailable,
    #[error("Too many requests; retry in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
}

fn invalid_code_text(tries_left: Option<u32>) -> String {
    match tries_left {
        Some(0) => "The code is wrong and has no tries left; ask for a new one.".into(),
        Some(1) => "The code is wrong; 1 try left.".into(),
        Some(n) => format!("The code is wrong; {n} tries left."),
        None => "The code is wrong or expired; ask for a new one.".into(),
    }
}

impl Error {
    /// An unknown, expired or used-up code: nothing to count.
    pub const INVALID_CODE: Self = Self::InvalidCode { tries_left: None };

    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Self::InvalidRequest(_) => C::InvalidRequest,
            Self::InvalidScope(_) => C::InvalidScope,
            Self::UnsupportedResponseType(_) => C::UnsupportedResponseType,
            Self::UnsupportedGrantType(_) => C::UnsupportedGrantType,
            Self::RedirectUriMismatch(_) => C::RedirectUriMismatch,
            Self::InvalidGrant(_) => C::InvalidGrant,
            Self::InvalidPkce(_) => C::InvalidPkce,
            Self::InvalidClientMetadata(_) => C::InvalidClientMetadata,
            Self::AlreadyExists(_) => C::AlreadyExists,
            Self::InvalidChallenge => C::InvalidChallenge,
            Self::WeakPassword(_) => C::WeakPassword,
            Self::InvalidSocialState => C::InvalidSocialState,
            Self::NotFound(_) => C::NotFound,
            Self::InvalidRedirectUri(_) => C::InvalidRedirectUri,
            Self::MethodNotAllowed => C::MethodNotAllowed,
            Self::RequestTimeout => C::RequestTimeout,
            Self::PayloadTooLarge => C::PayloadTooLarge,
            Self::UnsupportedMediaType(_) => C::UnsupportedMediaType,
            Self::InvalidClient => C::InvalidClient,
            Self::InvalidCredentials => C::InvalidCredentials,
            Self::InvalidToken(_) => C::InvalidToken,
            Self::LoginRequired(_) => C::LoginRequired,
            Self::AdminUnauthorized => C::AdminUnauthorized,
            Self::InvalidCode { .. } => C::InvalidCode,
            Self::SocialLoginFailed(_) => C::SocialLoginFailed,
            Self::ReauthenticationRequired => C::ReauthenticationRequired,
            Self::InvalidPlatformCode => C::InvalidPlatformCode,
            Self::SecondFactorRequired => C::SecondFactorRequired,
            Self::PasskeyRefused(_) => C::PasskeyRefused,
            Self::AccessDenied(_) => C::AccessDenied,
            Self::UnauthorizedClient(_) => C::UnauthorizedClient,
            Self::CsrfViolation => C::CsrfViolation,
            Self::ConsentRequired => C::ConsentRequired,
            Self::AuthorizationPending => C::AuthorizationPending,
            Self::SlowDown { .. } => C::SlowDown,
            Self::ExpiredToken => C::ExpiredToken,
            Self::DeviceAccessDenied => C::DeviceAccessDenied,
            Self::InvalidUserCode => C::InvalidUserCode,
            Self::Internal(_) => C::ServerError,
            Self::Unavailable(_) => C::TemporarilyUnavailable,
            Self::PlatformFailed { .. } => C::PlatformFailed,
            Self::PlatformUnavailable => C::PlatformUnavailable,
            Self::RateLimited { .. } => C::RateLimited,
        }
    }

    /// Shorthand for an internal failure with a cause for the log.
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{cause}"))
    }
}

#[cfg(test)]
mod tests;
