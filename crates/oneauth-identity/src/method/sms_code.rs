//! Login by a one-time code sent by SMS: `identifier` (a phone number, any
//! common notation with its country code) first, then `identifier` + `code`.

use super::{LoginMethod, MethodContext, field, redeem_login_code, send_login_code};
use crate::identifier::Address;
use async_trait::async_trait;
use oneauth_core::Result;
use oneauth_store::Identity;
use std::collections::HashMap;

pub struct SmsCodeMethod;

#[async_trait]
impl LoginMethod for SmsCodeMethod {
    fn name(&self) -> &'static str {
        "sms_code"
    }

    fn amr(&self) -> &'static str {
        "sms"
    }

    async fn begin(&self, ctx: &MethodContext<'_>, fields: &HashMap<String, String>) -> Result<()> {
        send_login_code(ctx, Address::phone(field(fields, "identifier"))?).await
    }

    async fn authenticate(
        &self,
        ctx: &MethodContext<'_>,
        fields: &HashMap<String, String>,
    ) -> Result<Identity> {
        let address = Address::phone(field(fields, "identifier"))?;
        redeem_login_code(ctx, address, field(fields, "code")).await
    }
}
