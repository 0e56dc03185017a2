//! Password login: identifier (email, phone or username) + password,
//! argon2id-verified.

use super::{LoginMethod, MethodContext, field};
use crate::identifier::{LoginIdentifier, identity_with};
use async_trait::async_trait;
use oneauth_core::{Error, Result};
use oneauth_store::{Identity, IdentityState};
use std::collections::HashMap;

pub struct PasswordMethod;

#[async_trait]
impl LoginMethod for PasswordMethod {
    fn name(&self) -> &'static str {
        "password"
    }

    fn amr(&self) -> &'static str {
        "pwd"
    }

    async fn authenticate(
        &self,
        ctx: &MethodContext<'_>,
        fields: &HashMap<String, String>,
    ) -> Result<Identity> {
        let identifier = field(fields, "identifier");
        let password = fields.get("password").map(String::as_str).unwrap_or("");
        if identifier.is_empty() || password.is_empty() {
            return Err(Error::InvalidRequest(
                "Enter your email, phone number or username, and your password.".into(),
            ));
        }
        // Unknown and malformed identifiers still cost one argon2 verify
        // against a dummy hash, so timing does not reveal which accounts exist.
        let identity = match LoginIdentifier::parse(identifier) {
            Ok(id) => identity_with(ctx.store, &id).await?,
            Err(_) => None,
        };
        let stored = identity.as_ref().and_then(|i| i.password_hash.as_deref());
        let ok = ctx
            .hasher
            .verify(password, stored)
            .await
            .map_err(Error::Internal)?;
        match identity {
            Some(i) if ok && i.state == IdentityState::Active => Ok(i),
            _ => Err(Error::InvalidCredentials),
        }
    }
}
