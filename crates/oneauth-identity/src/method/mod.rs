//! Login methods are plug-ins: each turns submitted fields into an identity.
//! The set grows (email and SMS codes, social, passkeys) without touching
//! the callers, which dispatch on the submitted method name.

pub mod password;

use async_trait::async_trait;
use oneauth_core::Result;
use oneauth_crypto::PasswordHasher;
use oneauth_store::{Identity, Store};
use std::collections::HashMap;

/// What a method may use; small on purpose.
pub struct MethodContext<'a> {
    pub store: &'a dyn Store,
    pub hasher: &'a PasswordHasher,
}

#[async_trait]
pub trait LoginMethod: Send + Sync {
    /// The `method` value forms and APIs submit.
    fn name(&self) -> &'static str;
    /// RFC 8176 authentication method reference for the id_token's `amr`.
    fn amr(&self) -> &'static str;
    async fn authenticate(
        &self,
        ctx: &MethodContext<'_>,
        fields: &HashMap<String, String>,
    ) -> Result<Identity>;
}
