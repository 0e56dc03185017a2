//! Requests and answers of the TOTP and recovery-code API
//! (`/api/identity/totp…`, `/api/identity/recovery-codes`). Shapes only;
//! the rules live in `oneauth-identity`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/identity/totp`, and the answer of `DELETE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpStatus {
    /// An authenticator app is set up and confirmed.
    pub enrolled: bool,
    /// Second factors can be set up on this server (`mfa.policy` is not
    /// `off`).
    pub available: bool,
}

/// `POST /api/identity/totp`: a new secret, shown once; confirm it with
/// a first code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// Base32 (RFC 4648, no padding), for typing into the app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The `otpauth://totp/…` URI (SHA-1, 6 digits, 30 s).
    #[schema(
        example = "otpauth://totp/OneAuth:alice%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=OneAuth&algorithm=SHA1&digits=6&period=30"
    )]
    pub uri: String,
    /// The URI as a QR code: an `<svg>` element to inline.
    pub qr_svg: String,
}

/// `POST /api/identity/totp/confirm`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    /// The six digits the app shows (spaces ignored).
    #[schema(example = "123456")]
    pub code: String,
}

/// The answer of `POST /api/identity/totp/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TotpConfirmed {
    /// Ten new recovery codes, shown this once, when the identity had
    /// none left; absent when it keeps the ones it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

/// `GET /api/identity/recovery-codes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesLeft {
    /// Unused recovery codes.
    pub left: usize,
}

/// `POST /api/identity/recovery-codes`: a new set, shown once; the old
/// codes no longer work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    /// `xxxxx-xxxxx`; case and the dash do not matter when one is used.
    pub recovery_codes: Vec<String>,
}
