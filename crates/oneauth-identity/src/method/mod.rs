//! Login methods are plug-ins: each turns submitted fields into an identity.
//! The set grows (passkeys) without touching the callers, which dispatch on
//! the submitted method name. A method with a first step (a code to send)
//! does it in [`LoginMethod::begin`]. Social login is two redirects rather
//! than submitted fields; its providers are plug-ins of their own
//! ([`social`]).

pub mod email_code;
pub mod miniprogram;
pub mod passkey;
pub mod password;
// Second factors (issue 17): TOTP and recovery codes.
pub mod recovery_codes;
pub mod sms_code;
pub mod social;
pub mod totp;

use crate::Locale;
use crate::code::OneTimeCodes;
use crate::courier::Outbox;
use crate::identifier::Address;
use async_trait::async_trait;
use oneauth_core::{Error, Result};
use oneauth_crypto::PasswordHasher;
use oneauth_store::{CodePurpose, Identity, IdentityState, Store};
use std::collections::HashMap;

/// What a method may use; small on purpose.
pub struct MethodContext<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a PasswordHasher,
    pub codes: &'a OneTimeCodes,
    pub outbox: &'a Outbox,
    /// Language of any message sent.
    pub locale: Locale,
    pub now: i64,
}

#[async_trait]
pub trait LoginMethod: Send + Sync {
    /// The `method` value forms and APIs submit.
    fn name(&self) -> &'static str;
    /// RFC 8176 authentication method reference for the id_token's `amr`.
    fn amr(&self) -> &'static str;
    /// The first step, for methods that have one (sending a code). It
    /// answers the same whether or not an account exists.
    async fn begin(
        &self,
        _ctx: &MethodContext<'_>,
        _fields: &HashMap<String, String>,
    ) -> Result<()> {
        Err(Error::InvalidRequest(format!(
            "The login method `{}` has no first step.",
            self.name()
        )))
    }
    async fn authenticate(
        &self,
        ctx: &MethodContext<'_>,
        fields: &HashMap<String, String>,
    ) -> Result<Identity>;
}

fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> &'a str {
    fields
        .get(name)
        .map(String::as_str)
        .unwrap_or_default()
        .trim()
}

async fn identity_at(store: &dyn Store, address: &Address) -> Result<Option<Identity>> {
    Ok(match address {
        Address::Email(e) => store.get_identity_by_email(e).await?,
        Address::Phone(p) => store.get_identity_by_phone(p).await?,
    })
}

/// Step one of a code login: a code to the address if it has an active
/// account; for other addresses a code is stored but nothing is sent, so
/// the answer, the cool-down and the time taken are the same.
async fn send_login_code(ctx: &MethodContext<'_>, address: Address) -> Result<()> {
    let identity = identity_at(ctx.store, &address)
        .await?
        .filter(|i| i.state == IdentityState::Active);
    ctx.codes
        .send(
            ctx.outbox,
            CodePurpose::Login,
            &address,
            identity.map(|i| i.id),
            ctx.locale,
            ctx.now,
        )
        .await
}

/// Step two: the code proves control of the address, which therefore
/// counts as verified from now on. A first proof settles a password chosen
/// at sign-up as [`crate::Identities::verify`] says: a login code is never
/// the sign-up's own step, so such a password goes.
///
/// Every failure is `InvalidCode` (the person typed a code, not a
/// password): an address without an account has a stored code too, so
/// its answer is the same.
async fn redeem_login_code(
    ctx: &MethodContext<'_>,
    address: Address,
    code: &str,
) -> Result<Identity> {
    let id = ctx
        .codes
        .redeem(CodePurpose::Login, address.as_str(), code, ctx.now)
        .await?;
    let mut identity = ctx
        .store
        .get_identity(&id)
        .await?
        .filter(|i| i.state == IdentityState::Active)
        .ok_or(Error::INVALID_CODE)?;
    let flag = match address {
        Address::Email(ref e) if identity.traits.email.as_ref() == Some(e) => {
            &mut identity.traits.email_verified
        }
        Address::Phone(ref p) if identity.traits.phone.as_ref() == Some(p) => {
            &mut identity.traits.phone_verified
        }
        // The address changed after the code was sent.
        _ => return Err(Error::INVALID_CODE),
    };
    if !*flag {
        *flag = true;
        identity.updated_at = ctx.now;
        crate::settle_first_proof(ctx.store, &mut identity, false, ctx.now).await?;
    }
    Ok(identity)
}
