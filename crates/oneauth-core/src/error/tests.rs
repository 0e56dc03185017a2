use super::*;
use std::collections::HashSet;

/// Pins every (name, number) pair: a client switches on these.
#[test]
fn codes_are_pinned() {
    let pinned: Vec<(ErrorCode, Option<u16>, &str, u16)> = vec![
        (
            ErrorCode::InvalidRequest,
            Some(4001),
            "invalid_request",
            400,
        ),
        (ErrorCode::InvalidScope, Some(4002), "invalid_scope", 400),
        (
            ErrorCode::UnsupportedResponseType,
            Some(4003),
            "unsupported_response_type",
            400,
        ),
        (
            ErrorCode::UnsupportedGrantType,
            Some(4004),
            "unsupported_grant_type",
            400,
        ),
        (
            ErrorCode::RedirectUriMismatch,
            Some(4005),
            "invalid_request",
            400,
        ),
        (ErrorCode::InvalidGrant, Some(4006), "invalid_grant", 400),
        (ErrorCode::InvalidPkce, Some(4007), "invalid_request", 400),
        (
            ErrorCode::InvalidClientMetadata,
            Some(4008),
            "invalid_client_metadata",
            400,
        ),
        (ErrorCode::AlreadyExists, Some(4009), "already_exists", 400),
        (
            ErrorCode::InvalidChallenge,
            Some(4010),
            "invalid_request",
            400,
        ),
        (ErrorCode::WeakPassword, Some(4011), "weak_password", 400),
        (
            ErrorCode::InvalidSocialState,
            Some(4012),
            "invalid_state",
            400,
        ),
        (
            ErrorCode::InvalidRedirectUri,
            Some(4013),
            "invalid_redirect_uri",
            400,
        ),
        (ErrorCode::NotFound, Some(4404), "not_found", 404),
        (
            ErrorCode::MethodNotAllowed,
            Some(4405),
            "method_not_allowed",
            405,
        ),
        (
            ErrorCode::RequestTimeout,
            Some(4408),
            "request_timeout",
            408,
        ),
        (
            ErrorCode::PayloadTooLarge,
            Some(4413),
            "invalid_request",
            413,
        ),
        (
            ErrorCode::UnsupportedMediaType,
            Some(4415),
            "invalid_request",
            415,
        ),
        (ErrorCode::InvalidClient, Some(2001), "invalid_client", 401),
        (
            ErrorCode::InvalidCredentials,
            Some(2002),
            "invalid_credentials",
            401,
        ),
        (ErrorCode::InvalidToken, Some(2003), "invalid_token", 401),
        (ErrorCode::LoginRequired, Some(2004), "login_required", 401),
        (
            ErrorCode::AdminUnauthorized,
            Some(2005),
            "unauthorized",
            401,
        ),
        (ErrorCode::InvalidCode, Some(2006), "invalid_code", 401),
        (
            ErrorCode::SocialLoginFailed,
            Some(2007),
            "social_login_failed",
            401,
        ),
        (
            ErrorCode::ReauthenticationRequired,
            Some(2008),
            "reauthentication_required",
            401,
        ),
        (
            ErrorCode::InvalidPlatformCode,
            Some(2009),
            "invalid_platform_code",
            401,
        ),
        (
            ErrorCode::SecondFactorRequired,
            Some(2010),
            "second_factor_required",
            401,
        ),
        (
            ErrorCode::PasskeyRefused,
            Some(2011),
            "passkey_refused",
            401,
        ),
        (ErrorCode::AccessDenied, Some(3001), "access_denied", 403),
        (
            ErrorCode::UnauthorizedClient,
            Some(4014),
            "unauthorized_client",
            400,
        ),
        (
            ErrorCode::AuthorizationPending,
            Some(4015),
            "authorization_pending",
            400,
        ),
        (ErrorCode::SlowDown, Some(4016), "slow_down", 400),
        (ErrorCode::ExpiredToken, Some(4017), "expired_token", 400),
        (
            ErrorCode::DeviceAccessDenied,
            Some(4018),
            "access_denied",
            400,
        ),
        (
            ErrorCode::InvalidUserCode,
            Some(4019),
            "invalid_user_code",
            400,
        ),
        (ErrorCode::CsrfViolation, Some(3003), "csrf_violation", 403),
        (
            ErrorCode::ConsentRequired,
            Some(3004),
            "consent_required",
            403,
        ),
        (ErrorCode::ServerError, Some(5001), "server_error", 500),
        (
            ErrorCode::TemporarilyUnavailable,
            Some(5002),
            "temporarily_unavailable",
            500,
        ),
        (ErrorCode::PlatformFailed, Some(5003), "platform_error", 500),
        (
            ErrorCode::PlatformUnavailable,
            Some(5503),
            "temporarily_unavailable",
            503,
        ),
        (ErrorCode::RateLimited, None, "rate_limited", 429),
    ];
    assert_eq!(
        pinned.len(),
        ErrorCode::ALL.len(),
        "a code was added: pin it here"
    );
    for (code, number, name, status) in pinned {
        assert_eq!(code.number(), number, "{code:?}");
        assert_eq!(code.oauth_error(), name, "{code:?}");
        assert_eq!(code.http_status(), status, "{code:?}");
    }
}

#[test]
fn numbers_are_unique_and_in_their_ranges() {
    let mut seen = HashSet::new();
    for c in ErrorCode::ALL {
        if let Some(n) = c.number() {
            assert!(seen.insert(n), "{n} used twice");
            assert!(!ErrorCode::RETIRED.contains(&n), "{n} is retired");
            assert!(matches!(n, 2001..=2999 | 3001..=3999 | 4001..=4999 | 5001..=5999));
        }
    }
}

#[test]
fn internal_errors_hide_their_cause() {
    let e = Error::internal("password column missing in table identities");
    assert_eq!(e.to_string(), "The server could not complete the request.");
    assert_eq!(e.code().number(), Some(5001));
}

#[test]
fn a_wrong_code_counts_its_tries_only_when_it_has_them() {
    let text = |t| Error::InvalidCode { tries_left: t }.to_string();
    assert_eq!(text(Some(3)), "The code is wrong; 3 tries left.");
    assert_eq!(text(Some(1)), "The code is wrong; 1 try left.");
    assert_eq!(
        text(Some(0)),
        "The code is wrong and has no tries left; ask for a new one."
    );
    assert_eq!(
        Error::INVALID_CODE.to_string(),
        "The code is wrong or expired; ask for a new one."
    );
}

/// docs/errors.md carries the generated table; regenerate with
/// `UPDATE_DOCS=1 cargo test -p oneauth-core`.
#[test]
fn docs_error_list_matches_the_enum() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
    let table = ErrorCode::markdown_table();
    let doc = std::fs::read_to_string(path).unwrap_or_default();
    let begin = "<!-- BEGIN GENERATED -->\n";
    let end = "<!-- END GENERATED -->";
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let (head, tail) = match (doc.find(begin), doc.find(end)) {
            (Some(b), Some(e)) => (doc[..b].to_owned(), doc[e..].to_owned()),
            _ => (String::new(), format!("{end}\n")),
        };
        std::fs::write(path, format!("{head}{begin}{table}{tail}")).expect("write docs");
        return;
    }
    assert!(
        doc.contains(&format!("{begin}{table}{end}")),
        "docs/errors.md is out of date: run UPDATE_DOCS=1 cargo test -p oneauth-core"
    );
}
