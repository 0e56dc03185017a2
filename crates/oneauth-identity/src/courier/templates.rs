//! Message texts in each language. Codes are the only variable part beside
//! the brand, so the built-in texts are plain Rust, checked by the
//! compiler. An operator can replace any of them from
//! `{ui.templates_dir}/messages/` (docs/ui-templates.md), compiled at start.

use crate::Locale;
use anyhow::Context as _;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use oneauth_store::{Channel, CodePurpose};
use std::path::Path;

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

    /// The kind of message, for its cool-down: a notice that an address
    /// has an account stands in for the verification code a new account
    /// would get, so the two must wait alike.
    pub fn purpose(&self) -> CodePurpose {
        match self {
            Self::LoginCode(_) => CodePurpose::Login,
            Self::VerificationCode(_) | Self::RegistrationExists => CodePurpose::Verification,
            Self::RecoveryCode(_) => CodePurpose::Recovery,
        }
    }

    fn code(&self) -> Option<&str> {
        match self {
            Self::LoginCode(c) | Self::VerificationCode(c) | Self::RecoveryCode(c) => Some(c),
            Self::RegistrationExists => None,
        }
    }
}

const NAMES: [&str; 4] = [
    "login_code",
    "verification_code",
    "recovery_code",
    "registration_exists",
];
const LANGS: [&str; 2] = ["en", "zh-CN"];
/// An email's subject and body, and an SMS.
const PARTS: [&str; 3] = ["subject", "email", "sms"];

fn lang(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "en",
        Locale::ZhCn => "zh-CN",
    }
}

/// The operator's message texts: files named
/// `{template}.{lang}.{subject|email|sms}.txt`, each replacing one part of
/// one message; the others stay built in. Plain text: nothing is escaped.
#[derive(Default)]
pub struct MessageTexts {
    env: Environment<'static>,
}

impl MessageTexts {
    /// Compiles `{templates_dir}/messages/*.txt` (none when `templates_dir`
    /// is empty or has no `messages/`). A syntax error or a file name that
    /// names no part of a message fails with the file (and line).
    pub fn load(templates_dir: &Path) -> anyhow::Result<Self> {
        let mut texts = Self::default();
        let dir = templates_dir.join("messages");
        if templates_dir.as_os_str().is_empty() || !dir.is_dir() {
            return Ok(texts);
        }
        texts.env.set_auto_escape_callback(|_| AutoEscape::None);
        texts
            .env
            .set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let read = |p: &Path| format!("ui.templates_dir: reading {}", p.display());
        for entry in std::fs::read_dir(&dir).with_context(|| read(&dir))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let known = NAMES.iter().any(|t| {
                LANGS
                    .iter()
                    .any(|l| PARTS.iter().any(|p| name == format!("{t}.{l}.{p}.txt")))
            });
            anyhow::ensure!(
                known,
                "ui.templates_dir: {} names no message part (want {{template}}.{{lang}}.{{part}}.txt: templates {}; langs {}; parts {})",
                path.display(),
                NAMES.join(", "),
                LANGS.join(", "),
                PARTS.join(", ")
            );
            let source = std::fs::read_to_string(&path).with_context(|| read(&path))?;
            texts
                .env
                .add_template_owned(name.to_owned(), source)
                .with_context(|| format!("ui.templates_dir: {}", path.display()))?;
        }
        Ok(texts)
    }

    /// The operator's text for one part, or `builtin`. A text that fails to
    /// render is logged and the built-in one goes out instead: the person
    /// waiting for a code gets it either way.
    fn part(&self, file: &str, ctx: &minijinja::Value, builtin: String) -> String {
        let Ok(t) = self.env.get_template(file) else {
            return builtin;
        };
        t.render(ctx).unwrap_or_else(|e| {
            // `{e}`, not `{e:#}`: the alternate form would log the code.
            tracing::error!(file, error = %e, "message text failed to render; sent the built-in one");
            builtin
        })
    }
}

/// A rendered message: subject (emails only) and body.
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Renders `template` for `channel` in `locale`, the operator's texts
/// first; `minutes` is a code's lifetime.
pub fn render(
    texts: &MessageTexts,
    template: Template<'_>,
    channel: Channel,
    locale: Locale,
    brand: &str,
    minutes: u64,
) -> Rendered {
    let builtin = builtin(template, channel, locale, brand, minutes);
    let ctx = context! { code => template.code(), brand, minutes };
    let file = |part: &str| format!("{}.{}.{part}.txt", template.name(), lang(locale));
    let body = if channel == Channel::Sms {
        "sms"
    } else {
        "email"
    };
    Rendered {
        subject: texts.part(&file("subject"), &ctx, builtin.subject),
        body: texts.part(&file(body), &ctx, builtin.body),
    }
}

/// The built-in texts of every template, channel and language. Long
/// because it is the catalog: one arm per message, read side by side.
fn builtin(
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
        let none = MessageTexts::default();
        for locale in [Locale::En, Locale::ZhCn] {
            for channel in [Channel::Email, Channel::Sms] {
                for t in [
                    Template::LoginCode("123456"),
                    Template::VerificationCode("123456"),
                    Template::RecoveryCode("123456"),
                ] {
                    let r = render(&none, t, channel, locale, "Acme", 10);
                    assert!(r.body.contains("123456"), "{t:?} {locale:?}");
                    assert!(r.body.contains("10"), "lifetime in {t:?} {locale:?}");
                    assert!(r.subject.contains("Acme"));
                }
                let r = render(
                    &none,
                    Template::RegistrationExists,
                    channel,
                    locale,
                    "Acme",
                    10,
                );
                assert!(r.body.contains("Acme"));
            }
        }
        let zh = render(
            &none,
            Template::LoginCode("1"),
            Channel::Sms,
            Locale::ZhCn,
            "Acme",
            10,
        );
        assert!(zh.body.contains("验证码"));
    }

    fn texts(files: &[(&str, &str)]) -> (tempfile::TempDir, anyhow::Result<MessageTexts>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("messages")).unwrap();
        for (name, content) in files {
            std::fs::write(dir.path().join("messages").join(name), content).unwrap();
        }
        let texts = MessageTexts::load(dir.path());
        (dir, texts)
    }

    #[test]
    fn an_operator_text_replaces_one_part_of_one_message() {
        let (_dir, texts) = texts(&[(
            "login_code.en.sms.txt",
            "{{ brand }} <code> {{ code }}, {{ minutes }} min\n",
        )]);
        let texts = texts.unwrap();
        let sms = render(
            &texts,
            Template::LoginCode("123456"),
            Channel::Sms,
            Locale::En,
            "Acme",
            10,
        );
        assert_eq!(
            sms.body, "Acme <code> 123456, 10 min",
            "plain text, not escaped"
        );
        let builtin = render(
            &MessageTexts::default(),
            Template::LoginCode("123456"),
            Channel::Sms,
            Locale::En,
            "Acme",
            10,
        );
        assert_eq!(sms.subject, builtin.subject, "the subject stays built in");
        let email = render(
            &texts,
            Template::LoginCode("123456"),
            Channel::Email,
            Locale::En,
            "Acme",
            10,
        );
        assert!(
            email.body.starts_with("Your sign-in code"),
            "email stays built in"
        );
        let zh = render(
            &texts,
            Template::LoginCode("123456"),
            Channel::Sms,
            Locale::ZhCn,
            "Acme",
            10,
        );
        assert!(zh.body.contains("验证码"), "Chinese stays built in");
    }

    #[test]
    fn broken_or_misnamed_texts_stop_start_up_and_failing_ones_fall_back() {
        let (_dir, err) = texts(&[("recovery_code.zh-CN.subject.txt", "ok\n{{ code \n")]);
        let err = format!("{:#}", err.err().unwrap());
        assert!(err.contains("recovery_code.zh-CN.subject.txt:"), "{err}");
        assert!(err.contains("syntax error"), "{err}");
        let (_dir, err) = texts(&[("login_code.fr.sms.txt", "x")]);
        assert!(format!("{:#}", err.err().unwrap()).contains("names no message part"));

        let (_dir, texts) = texts(&[("login_code.en.sms.txt", "{{ no_such_value }}")]);
        let sms = render(
            &texts.unwrap(),
            Template::LoginCode("123456"),
            Channel::Sms,
            Locale::En,
            "Acme",
            10,
        );
        assert!(
            sms.body.contains("123456"),
            "the built-in text went out: {}",
            sms.body
        );
    }
}
