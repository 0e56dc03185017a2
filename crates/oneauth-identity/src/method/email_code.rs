//! Login by a one-time code sent by email: `identifier` (email) first,
//! then `identifier` + `code`.

use super::{LoginMethod, MethodContext, field, redeem_login_code, send_login_code};
use crate::identifier::Address;
use async_trait::async_trait;
use oneauth_core::Result;
use oneauth_store::Identity;
use std::collections::HashMap;

pub struct EmailCodeMethod;

#[async_trait]
impl LoginMethod for EmailCodeMethod {
    fn name(&self) -> &'static str {
        "email_code"
    }

    /// RFC 8176 has no value for email; a code is a one-time password.
    fn amr(&self) -> &'static str {
        "otp"
    }

    async fn begin(&self, ctx: &MethodContext<'_>, fields: &HashMap<String, String>) -> Result<()> {
        send_login_code(ctx, Address::email(field(fields, "identifier"))?).await
    }

    async fn authenticate(
        &self,
        ctx: &MethodContext<'_>,
        fields: &HashMap<String, String>,
    ) -> Result<Identity> {
        let address = Address::email(field(fields, "identifier"))?;
        redeem_login_code(ctx, address, field(fields, "code")).await
    }
}
