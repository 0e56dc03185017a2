//! Message texts in each language. Codes are the only variable part beside
//! the brand, so the texts are plain Rust, checked by the compiler.

use crate::Locale;
use oneauth_store::Channel;

/// What a message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template<'a> {
    LoginCode(&'a str),
    VerificationCode(&'a str),
    RecoveryCode(&'a str),
    /// Someone registered with an address that has an account already: the
    /// owner is told instead of the registrant (no account enumeration).
    RegistrationExists,
}

impl Template<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::LoginCode(_) => "login_code",
            Self::VerificationCode(_) => "verification_code",
            Self::RecoveryCode(_) => "recovery_code",
            Self::RegistrationExists => "registration_exists",
        }
    }
}

/// A rendered message: subject (emails only) and body.
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Renders `template` for `channel` in `locale`; `minutes` is a code's lifetime.
pub fn render(
    template: Template<'_>,
    channel: Channel,
    locale: Locale,
    brand: &str,
    minutes: u64,
) -> Rendered {
    let sms = channel == Channel::Sms;
    let (subject, body) = match (locale, template) {
        (Locale::En, Template::LoginCode(code)) => (
            format!("Your {brand} sign-in code"),
            if sms {
                format!("{brand}: your sign-in code is {code}. It expires in {minutes} minutes.")
            } else {
                format!(
                    "Your sign-in code is:\n\n    {code}\n\nIt expires in {minutes} minutes. If you did not try to sign in to {brand}, ignore this message."
                )
            },
        ),
        (Locale::En, Template::VerificationCode(code)) => (
            format!("Confirm your address for {brand}"),
            if sms {
                format!(
                    "{brand}: your verification code is {code}. It expires in {minutes} minutes."
                )
            } else {
                format!(
                    "Your verification code is:\n\n    {code}\n\nIt expires in {minutes} minutes. If you did not create a {brand} account, ignore this message."
                )
            },
        ),
        (Locale::En, Template::RecoveryCode(code)) => (
            format!("Reset your {brand} password"),
            if sms {
                format!(
                    "{brand}: your password reset code is {code}. It expires in {minutes} minutes."
                )
            } else {
                format!(
                    "Your password reset code is:\n\n    {code}\n\nIt expires in {minutes} minutes. If you did not ask to reset your password, ignore this message: your password stays as it is."
                )
            },
        ),
        (Locale::En, Template::RegistrationExists) => (
            format!("You already have a {brand} account"),
            format!(
                "Someone tried to create a {brand} account with this address, which already has one. If it was you, sign in, or reset your password if you forgot it. Otherwise, ignore this message."
            ),
        ),
        (Locale::ZhCn, Template::LoginCode(code)) => (
            format!("您的 {brand} 登录验证码"),
            if sms {
                format!("【{brand}】您的登录验证码是 {code}，{minutes} 分钟内有效。")
            } else {
                format!(
                    "您的登录验证码是：\n\n    {code}\n\n{minutes} 分钟内有效。如果您没有尝试登录 {brand}，请忽略此邮件。"
                )
            },
        ),
        (Locale::ZhCn, Template::VerificationCode(code)) => (
            format!("验证您在 {brand} 的地址"),
            if sms {
                format!("【{brand}】您的验证码是 {code}，{minutes} 分钟内有效。")
            } else {
                format!(
                    "您的验证码是：\n\n    {code}\n\n{minutes} 分钟内有效。如果您没有注册 {brand} 账号，请忽略此邮件。"
                )
            },
        ),
        (Locale::ZhCn, Template::RecoveryCode(code)) => (
            format!("重置您的 {brand} 密码"),
            if sms {
                format!("【{brand}】您的密码重置验证码是 {code}，{minutes} 分钟内有效。")
            } else {
                format!(
                    "您的密码重置验证码是：\n\n    {code}\n\n{minutes} 分钟内有效。如果您没有申请重置密码，请忽略此邮件，您的密码不会改变。"
                )
            },
        ),
        (Locale::ZhCn, Template::RegistrationExists) => (
            format!("您已经有 {brand} 账号"),
            format!(
                "有人尝试用此地址注册 {brand} 账号，但该地址已有账号。如果是您本人，请直接登录；如果忘记了密码，请重置密码。否则请忽略此消息。"
            ),
        ),
    };
    Rendered { subject, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_in_both_languages_carries_its_code() {
        for locale in [Locale::En, Locale::ZhCn] {
            for channel in [Channel::Email, Channel::Sms] {
                for t in [
                    Template::LoginCode("123456"),
                    Template::VerificationCode("123456"),
                    Template::RecoveryCode("123456"),
                ] {
                    let r = render(t, channel, locale, "Acme", 10);
                    assert!(r.body.contains("123456"), "{t:?} {locale:?}");
                    assert!(r.body.contains("10"), "lifetime in {t:?} {locale:?}");
                    assert!(r.subject.contains("Acme"));
                }
                let r = render(Template::RegistrationExists, channel, locale, "Acme", 10);
                assert!(r.body.contains("Acme"));
            }
        }
        let zh = render(
            Template::LoginCode("1"),
            Channel::Sms,
            Locale::ZhCn,
            "Acme",
            10,
        );
        assert!(zh.body.contains("验证码"));
    }
}
