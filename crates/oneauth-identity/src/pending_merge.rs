//! TEMPORARY (lead's tree only until the mfa-totp and mfa-passkeys branches
//! merge; they bring the real methods and this file goes).
#![allow(unused_variables)]
use crate::Identities;
use oneauth_core::{Error, Result};
use time::OffsetDateTime;

impl Identities {
    pub async fn has_totp(&self, identity_id: &str) -> Result<bool> {
        Ok(false)
    }
    pub async fn passkeys(&self, identity_id: &str) -> Result<Vec<()>> {
        Ok(vec![])
    }
    pub async fn recovery_codes_left(&self, identity_id: &str) -> Result<usize> {
        Ok(0)
    }
    pub async fn verify_totp(
        &self,
        identity_id: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        Err(Error::InvalidCode { tries_left: None })
    }
    pub async fn use_recovery_code(
        &self,
        identity_id: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        Err(Error::InvalidCode { tries_left: None })
    }
    pub async fn finish_passkey_second_factor(
        &self,
        identity_id: &str,
        ceremony: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<&'static str> {
        Err(Error::InvalidCode { tries_left: None })
    }
}

pub struct TotpEnrolment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

impl Identities {
    pub async fn begin_totp_enrolment(
        &self,
        session: &oneauth_store::Session,
        now: OffsetDateTime,
    ) -> Result<TotpEnrolment> {
        Err(Error::InvalidCode { tries_left: None })
    }
    pub async fn confirm_totp(
        &self,
        session: &oneauth_store::Session,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<String>>> {
        Err(Error::InvalidCode { tries_left: None })
    }
}
