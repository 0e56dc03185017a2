//! The records the stores keep. Times are unix seconds.

use oneauth_core::config::AccessTokenStrategy;
/// The protocol words the records hold, re-exported for the stores' users.
pub use oneauth_proto::oauth2::{AuthMethod, GrantType, Prompt, ResponseType};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    /// PKCS#8, sealed with the system secret (AAD = kid).
    pub sealed_key: Vec<u8>,
    pub created_at: i64,
}

/// An OAuth2 client, in RFC 7591 metadata terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub client_name: String,
    /// HMAC of the secret under the system secret; `None` for public clients.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub response_types: Vec<ResponseType>,
    /// Allowed scopes; space-delimited on the wire (RFC 7591 §2).
    #[serde(with = "space_delimited")]
    pub scope: Vec<String>,
    pub token_endpoint_auth_method: AuthMethod,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Skip the consent screen (first-party apps).
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// `jwt` for RFC 9068 access tokens, `opaque`; unset for the server
    /// default.
    #[serde(default)]
    pub access_token_strategy: Option<AccessTokenStrategy>,
    /// May log users in with `POST /oauth/native/cli` (password, for
    /// headless tools). Off by default.
    #[serde(default)]
    pub native_cli_login: bool,
    /// A confidential legacy back end that cannot send PKCE may use the
    /// code flow without it. Off by default (RFC 9700 §2.1.1); never for
    /// public clients. Clients stored before this field need PKCE.
    #[serde(default)]
    pub allow_no_pkce: bool,
    /// Every login for this client proves a second factor, whatever the
    /// MFA policy short of `off`. Off by default; clients stored before
    /// this field have it off.
    #[serde(default)]
    pub require_mfa: bool,
    /// What the consent page shows of the client (RFC 7591 §2): its logo,
    /// privacy policy, terms and home page, all https.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

impl Client {
    /// A public client (RFC 6749 §2.1): it has no secret to authenticate with.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// Whether the client is registered for `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

mod space_delimited {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.join(" "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(String::deserialize(d)?
            .split_whitespace()
            .map(str::to_owned)
            .collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityState {
    Active,
    Disabled,
}

impl IdentityState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// What an identity says about its person. Each identifier is stored
/// normalised (email lower-cased, phone in E.164, username lower-cased) and
/// is unique when present; an identity has at least an email or a phone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Traits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// E.164, e.g. `+8613800138000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub phone_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The password was chosen at a self-service sign-up and no address of
    /// the identity has been proven since: whoever chose it may not own
    /// the addresses (`oneauth_identity::Identities::verify` has the rule).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_unproven: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: String,
    pub traits: Traits,
    pub state: IdentityState,
    /// argon2id PHC string.
    pub password_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A social login link: the upstream account `subject` at the configured
/// provider `provider` logs in to `identity_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalIdentity {
    pub provider: String,
    /// The provider's stable id of the account (`sub`; GitHub's numeric
    /// `id`), never an email, which can change hands.
    pub subject: String,
    pub identity_id: String,
    pub created_at: i64,
}

/// A login session (the `ory_kratos_session` cookie).
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Public id, used as the id_token's `sid`.
    pub id: String,
    pub token_hash: String,
    pub identity_id: String,
    pub authenticated_at: i64,
    /// Authentication methods references (RFC 8176), e.g. `pwd`.
    pub amr: Vec<String>,
    pub expires_at: i64,
    /// Where the login came from, as the server saw it.
    pub seen_from: SeenFrom,
    /// When a request last used the session; written at most every
    /// [`crate::SESSION_TOUCH_SECS`].
    pub last_used_at: i64,
    /// The login still has to prove a second factor: only the
    /// second-factor step may use this session.
    pub second_factor_pending: bool,
}

/// The browser a request came from, as the server saw it: its
/// `User-Agent` (as sent) and the client IP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenFrom {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// Where an authorization request stands.
///
/// ```text
///  LoginPending --accept login--> LoginAccepted --browser returns with
///       |                         login_verifier--> ConsentPending
///       |                                               |  (or straight to Done
///       +--reject--> Done(denied)                        |   when consent is skipped)
///                                 ConsentAccepted <--accept consent
///                                        |
///                          browser returns with consent_verifier --> Done (code issued)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    LoginPending,
    LoginAccepted,
    ConsentPending,
    ConsentAccepted,
    Done,
}

impl FlowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginPending => "login_pending",
            Self::LoginAccepted => "login_accepted",
            Self::ConsentPending => "consent_pending",
            Self::ConsentAccepted => "consent_accepted",
            Self::Done => "done",
        }
    }
}

/// The validated parameters of an authorization request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// OIDC Core §3.1.2.1 `display=popup`: the login page in its popup
    /// layout. Other `display` values get the full page.
    #[serde(default)]
    pub popup: bool,
    /// OIDC Core §3.1.2.1 `acr_values`, in the order given, unknown ones
    /// included (they are voluntary claims: ignored, not refused). Flows
    /// stored before this field have none.
    #[serde(default)]
    pub acr_values: Vec<String>,
}

/// An authorization request on its way through login and consent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub id: String,
    #[serde(skip)]
    pub login_challenge_hash: String,
    #[serde(skip)]
    pub login_verifier_hash: Option<String>,
    #[serde(skip)]
    pub consent_challenge_hash: Option<String>,
    #[serde(skip)]
    pub consent_verifier_hash: Option<String>,
    #[serde(skip, default = "default_state")]
    pub state: FlowState,
    pub request: AuthorizeRequest,
    /// Hash of the browser-binding cookie set when the flow began; the
    /// browser that returns with a verifier must carry the same cookie.
    pub browser_hash: String,
    pub requested_at: i64,
    pub subject: Option<String>,
    pub session_id: Option<String>,
    pub auth_time: Option<i64>,
    #[serde(default)]
    pub amr: Vec<String>,
    /// The session that was live when a fresh login was demanded
    /// (`prompt=login`, `max_age`); it cannot accept this flow.
    #[serde(default)]
    pub stale_session_id: Option<String>,
    /// Login was skipped because of a live session.
    #[serde(default)]
    pub login_skipped: bool,
    #[serde(default)]
    pub granted_scope: Vec<String>,
    #[serde(skip)]
    pub expires_at: i64,
}

fn default_state() -> FlowState {
    FlowState::LoginPending
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    #[serde(skip)]
    pub hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: Vec<String>,
    pub subject: String,
    pub session_id: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    #[serde(skip)]
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub hash: String,
    pub kind: TokenKind,
    pub grant_id: String,
    pub client_id: String,
    /// `None` for client_credentials.
    pub subject: Option<String>,
    pub scope: Vec<String>,
    pub session_id: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// When a refresh token was rotated; a used token is not live, but is
    /// kept to recognise replays.
    pub used_at: Option<i64>,
}

/// What a one-time code is for; a code of one purpose never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    Login,
    Verification,
    Recovery,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Verification => "verification",
            Self::Recovery => "recovery",
        }
    }
}

/// The state of one budget (see `RateLimitStore::get_budget`): what the
/// domain's rules need, kept per key. Its meaning is the rule's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    /// What was spent in the current window.
    pub count: i64,
    pub window_start: i64,
    /// When it was last spent.
    pub last_at: i64,
    /// Nothing may be spent before this.
    pub locked_until: i64,
    /// The row may be deleted after this.
    pub expires_at: i64,
}

/// A short code sent to an address (email or phone). Only a keyed hash of
/// the code is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeCode {
    pub id: String,
    pub purpose: CodePurpose,
    /// Normalised email or E.164 phone number.
    pub address: String,
    /// `None` when no identity has the address: the code is stored all the
    /// same, so that answers and timing do not tell the two apart, and can
    /// never be redeemed.
    pub identity_id: Option<String>,
    pub code_hash: String,
    /// Wrong (or right) guesses made so far.
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
    /// Waiting for its (next) delivery attempt.
    Queued,
    Sent,
    /// Every attempt failed; kept for the operator to see.
    Abandoned,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "sent" => Some(Self::Sent),
            "abandoned" => Some(Self::Abandoned),
            _ => None,
        }
    }
}

/// A message in the courier's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct CourierMessage {
    pub id: String,
    pub channel: Channel,
    pub recipient: String,
    /// Which template made it (`login_code`, …): for logs, never the text.
    pub template: String,
    /// Subject and body, sealed under the system secret: they carry codes.
    pub sealed: Vec<u8>,
    pub status: MessageStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub last_error: Option<String>,
}

/// Where an RFC 8628 device authorization stands.
///
/// ```text
/// Pending --user approves--> Approved --device polls--> Used
///    \------user denies----> Denied
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeState {
    Pending,
    Approved,
    Denied,
    /// The approved authorization's tokens were issued.
    Used,
}

impl DeviceCodeState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Approved, Self::Denied, Self::Used];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Used => "used",
        }
    }
}

/// A device authorization (RFC 8628 §3.2): its codes as keyed hashes, the
/// user's answer, and the device's polling pace.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCode {
    /// Also the grant id of the tokens it yields.
    pub id: String,
    pub device_code_hash: String,
    pub user_code_hash: String,
    pub client_id: String,
    pub scope: Vec<String>,
    pub state: DeviceCodeState,
    /// Set on approval: who approved, in which session, what was granted.
    pub subject: Option<String>,
    pub session_id: Option<String>,
    pub granted_scope: Vec<String>,
    pub amr: Vec<String>,
    pub auth_time: Option<i64>,
    pub interval_secs: i64,
    pub last_polled_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Bumped by every update: what a compare-and-swap expects.
    pub version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flow's request stored before `acr_values` existed still loads
    /// (a flow in progress while the server is upgraded), asking for none.
    #[test]
    fn a_stored_request_without_acr_values_loads() {
        let stored = serde_json::json!({
            "client_id": "app",
            "redirect_uri": "https://app.example/cb",
            "scope": ["openid"],
            "state": "s",
            "nonce": null,
            "code_challenge": null,
            "prompt": [],
            "max_age": null,
            "login_hint": null,
            "ui_locales": null,
            "popup": false
        });
        let request: AuthorizeRequest = serde_json::from_value(stored).unwrap();
        assert!(request.acr_values.is_empty());
        assert_eq!(request.state.as_deref(), Some("s"));
    }

    /// A client's metadata as stored (and shown by the admin API) when its
    /// protocol words were plain strings reads and writes back unchanged.
    #[test]
    fn stored_client_metadata_keeps_its_strings() {
        let stored = serde_json::json!({
            "client_id": "backend",
            "client_name": "Backend",
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "scope": "openid offline_access",
            "token_endpoint_auth_method": "client_secret_post",
            "post_logout_redirect_uris": [],
            "skip_consent": false,
            "id_token_signed_response_alg": null,
            "access_token_strategy": "jwt",
            "native_cli_login": false,
            "allow_no_pkce": true,
            "created_at": 1,
            "updated_at": 2
        });
        let client: Client = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(
            client.token_endpoint_auth_method,
            AuthMethod::ClientSecretPost
        );
        assert!(client.allows_grant(GrantType::ClientCredentials));
        assert_eq!(client.access_token_strategy, Some(AccessTokenStrategy::Jwt));
        // Stored before `require_mfa` existed: it reads as off, and is
        // written back (and shown) from then on.
        assert!(!client.require_mfa);
        let mut written = stored;
        written["require_mfa"] = serde_json::json!(false);
        assert_eq!(serde_json::to_value(&client).unwrap(), written);
    }
}
