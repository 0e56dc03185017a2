//! How mail and SMS leave the server: SMTP or a webhook.

use serde::{Deserialize, Serialize};

/// How messages (codes) reach people. Messages are queued in the database
/// and delivered by a background task that retries with back-off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Courier {
    /// `log` (development: logs that a message went out, never its text),
    /// `smtp` or `webhook`.
    pub email_provider: EmailProvider,
    /// `log` or `webhook` (any SMS gateway behind a small adapter).
    pub sms_provider: SmsProvider,
    /// The `From` of emails.
    pub from: String,
    pub smtp: Smtp,
    pub webhook: Webhook,
    /// How often the outbox is checked for due messages (new messages are
    /// sent at once; this paces retries and other nodes' messages).
    pub poll_interval_ms: u64,
    /// Delivery attempts before a message is abandoned.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; it doubles with each further
    /// failure, up to an hour.
    pub backoff_base_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmailProvider {
    #[default]
    Log,
    Smtp,
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    #[default]
    Log,
    Webhook,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// `starttls` (upgrade required), `tls` (implicit TLS, usually port
    /// 465) or `none` (only for a relay on loopback).
    pub tls: SmtpTls,
    pub username: String,
    pub password: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    #[default]
    Starttls,
    Tls,
    None,
}

/// JSON POST of `{channel, to, subject, body, template, message_id}` to
/// `url`, with `X-OneAuth-Signature: sha256=<hex HMAC-SHA256 of the body
/// under secret>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Key of the signature header (at least 16 characters).
    pub secret: String,
    pub timeout_secs: u64,
}

impl Default for Courier {
    fn default() -> Self {
        Self {
            email_provider: EmailProvider::Log,
            sms_provider: SmsProvider::Log,
            from: "OneAuth <no-reply@localhost>".into(),
            smtp: Smtp::default(),
            webhook: Webhook::default(),
            poll_interval_ms: 1000,
            max_attempts: 10,
            backoff_base_secs: 5,
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: String::new(),
            timeout_secs: 15,
        }
    }
}

impl Default for Webhook {
    fn default() -> Self {
        Self {
            url: String::new(),
            secret: String::new(),
            timeout_secs: 10,
        }
    }
}

impl Courier {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.email_provider == EmailProvider::Smtp && self.smtp.host.is_empty() {
            return Err("courier.email_provider = smtp needs courier.smtp.host".into());
        }
        let webhook_used = self.email_provider == EmailProvider::Webhook
            || self.sms_provider == SmsProvider::Webhook;
        if webhook_used && (self.webhook.url.is_empty() || self.webhook.secret.len() < 16) {
            return Err(
                "a webhook provider needs courier.webhook.url and a courier.webhook.secret of at least 16 characters"
                    .into(),
            );
        }
        Ok(())
    }
}
