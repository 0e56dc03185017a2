//! Requests and answers of the identity API (`/api/identity/…`), the JSON
//! face of registration, login, verification, recovery, settings and
//! sessions that a custom login UI uses instead of the built-in pages.
//! Shapes only; the rules live in `oneauth-identity`.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

wire_enum! {
    /// Which addresses a sign-up must prove control of: the register page's
    /// `verify_method`. Without it: the email if one is given, else the
    /// phone. One type for the JSON API, the pages and `oneauth-identity`.
    VerifyMethod {
        Email = "email",
        Phone = "phone",
        Both = "both",
    }
}

/// `POST /api/identity/registration`. The flags are the register page's
/// parameters of the same names, so a custom UI can pass them through.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    #[serde(default)]
    #[schema(example = "bob@example.com")]
    pub email: Option<String>,
    /// With its country code, in any common notation; stored as E.164.
    #[serde(default)]
    #[schema(example = "+86 138 0013 8000")]
    pub phone: Option<String>,
    /// 3 to 32 of `a-z 0-9 . _ -`, with at least one letter.
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub password: String,
    /// The password typed again. Required when `confirm_password` is
    /// true; whenever given, it must equal `password`.
    #[serde(default)]
    pub password_confirmation: Option<String>,
    #[serde(default)]
    pub verify_method: Option<VerifyMethod>,
    /// The form asked for the password twice.
    #[serde(default)]
    pub confirm_password: bool,
    /// A username is required.
    #[serde(default)]
    pub require_username: bool,
    /// A name is required.
    #[serde(default)]
    pub require_name: bool,
}

/// Where a one-time code goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Phone,
}

/// A normalised email address or E.164 phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressView {
    pub channel: Channel,
    #[schema(example = "bob@example.com")]
    pub address: String,
}

/// The addresses to verify next, each sent a code. The answer is the same
/// whether or not an address has an account already (its owner is told
/// by message instead), so it reveals no accounts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegistrationResponse {
    pub verify: Vec<AddressView>,
}

/// `POST /api/identity/login/password`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordLoginRequest {
    /// Email, phone number or username.
    #[schema(example = "alice@example.com")]
    pub identifier: String,
    pub password: String,
    /// A pending OAuth2 login to accept for the new session; the answer
    /// then carries `redirect_to`, as `PUT /api/hydra/login/accept` does.
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// A login method that works by a one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeMethod {
    /// A code by email; `identifier` is an email address.
    EmailCode,
    /// A code by SMS; `identifier` is a phone number with country code.
    SmsCode,
}

impl CodeMethod {
    /// The login method's name in `login.methods`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EmailCode => "email_code",
            Self::SmsCode => "sms_code",
        }
    }
}

/// `POST /api/identity/login/code/send`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginCodeSendRequest {
    pub method: CodeMethod,
    pub identifier: String,
}

/// `POST /api/identity/login/code`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeLoginRequest {
    pub method: CodeMethod,
    pub identifier: String,
    #[schema(example = "123456")]
    pub code: String,
    /// As in [`PasswordLoginRequest::login_challenge`].
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// A code was issued for the address — or, for an address without an
/// account, would have been: the answer is the same either way.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code can be sent to the same address.
    pub resend_after: u64,
}

/// `POST /api/identity/verification/send` and `…/recovery/send`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    /// An email address or a phone number with country code.
    #[schema(example = "bob@example.com")]
    pub address: String,
}

/// `POST /api/identity/verification`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    pub address: String,
    pub code: String,
    /// Also log in (the built-in pages do so right after registration:
    /// the code proves the address, and the person has just chosen the
    /// password).
    #[serde(default)]
    pub login: bool,
    /// With `login`: as in [`PasswordLoginRequest::login_challenge`].
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// `POST /api/identity/recovery`: a new password with the code sent to a
/// verified address. Every session of the identity ends, and a new one
/// starts for the caller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    pub address: String,
    pub code: String,
    pub new_password: String,
    /// As in [`PasswordLoginRequest::login_challenge`].
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// `POST /api/identity/settings/password`. Every other session of the
/// identity ends.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    /// Required when the identity has a password.
    #[serde(default)]
    pub current_password: Option<String>,
    pub new_password: String,
}

/// `PATCH /api/identity/settings/profile`: a field left out stays as it
/// is; `null` or `""` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdateRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
}

/// A field that is present, `null` or not: `Some(None)` for `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// An identity as its owner sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityView {
    pub id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// E.164.
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub has_password: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// A live login session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// Unix seconds.
    pub authenticated_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// RFC 8176 method references: `pwd`, `otp`, `sms`.
    pub amr: Vec<String>,
    /// The session of the request's cookie.
    pub current: bool,
    /// Unix seconds: when a request last used the session, written at
    /// most every 5 minutes (so up to 5 minutes late).
    pub last_used_at: i64,
    /// The login's device (its operating system, e.g. `Windows 10`,
    /// `iPhone`) and browser with its major version (`Firefox 133`), from
    /// its `User-Agent`; absent when it names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    /// The login's client IP, as the server saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// Who is logged in. `session` is the request's (or the new one, after a
/// login); `redirect_to` is where the browser goes next when a
/// `login_challenge` was accepted.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IdentityResponse {
    pub identity: IdentityView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_to: Option<String>,
    /// The login still has to prove a second factor: the session cookie
    /// is set but counts for nothing else until
    /// `POST /api/identity/login/second-factor` (or its passkey variant)
    /// succeeds. `GET /api/hydra/login` lists what the person enrolled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_factor_required: bool,
}

/// A second factor typed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorMethod {
    /// A 6-digit code from an authenticator app (RFC 6238).
    Totp,
    /// One of the recovery codes shown at enrolment; each works once.
    RecoveryCode,
}

/// `POST /api/identity/login/second-factor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    pub method: SecondFactorMethod,
    #[schema(example = "123456")]
    pub code: String,
    /// As in [`PasswordLoginRequest::login_challenge`].
    #[serde(default)]
    pub login_challenge: Option<String>,
}

/// `GET /api/identity/sessions`: the caller's live sessions, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionsResponse {
    pub sessions: Vec<SessionView>,
}

/// How many sessions a `DELETE` ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionsEnded {
    pub ended: u64,
}

/// `GET /api/identity/social/providers`: the configured social login
/// providers, for a custom UI's buttons.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SocialProvidersResponse {
    pub providers: Vec<SocialProviderView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SocialProviderView {
    #[schema(example = "github")]
    pub id: String,
    #[schema(example = "GitHub")]
    pub display_name: String,
    /// Where to send the browser (a top-level navigation, not a fetch).
    /// The login page's parameters may be added as the query
    /// (`login_challenge`, `return_to`, `mode`, `ui_locales`): after the
    /// provider, the login continues as the login page would continue it.
    #[schema(example = "https://login.example.com/social/github/start")]
    pub start_url: String,
}
