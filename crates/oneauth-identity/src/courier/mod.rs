//! The courier: messages (codes) are rendered, sealed and queued in the
//! database by [`Outbox`], and delivered by [`Delivery`], a background task
//! that retries with back-off, so a mail server outage loses nothing.
//!
//! ```text
//!  enqueue --> queued --claim (lease)--> send ok --> sent
//!                ^                          |
//!                +---- failed, retry_at <---+--> failed, attempts used up --> abandoned
//! ```
//!
//! Nothing here logs a message's text: it carries codes.

mod log;
mod smtp;
pub mod templates;
mod webhook;

use crate::Locale;
use crate::identifier::Address;
use crate::limit::SendRule;
use async_trait::async_trait;
use oneauth_core::config::{Courier as CourierConfig, EmailProvider, SmsProvider};
use oneauth_core::{Error, Result};
use oneauth_crypto::SystemKeys;
use oneauth_limit::Limiter;
use oneauth_store::{Channel, CodePurpose, CourierMessage, MessageStatus, Store};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use templates::{MessageTexts, Template};
use tokio::sync::Notify;

/// A message as a provider sends it.
#[derive(Debug)]
pub struct Outgoing {
    pub id: String,
    pub channel: Channel,
    pub to: String,
    pub template: String,
    pub subject: String,
    pub body: String,
}

/// A way to deliver messages of one channel.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Delivers `message`; an error is retried later. Its text is logged,
    /// so it must not quote the message.
    async fn send(&self, message: &Outgoing) -> anyhow::Result<()>;
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    subject: String,
    body: String,
}

/// The enqueueing side, used by login, registration, verification and
/// recovery. Every message spends its address's send budget here, in one
/// place, whatever its template: no caller can forget the cool-down.
pub struct Outbox {
    store: Arc<dyn Store>,
    keys: Arc<SystemKeys>,
    brand: String,
    code_minutes: u64,
    texts: MessageTexts,
    wake: Arc<Notify>,
    limits: Arc<Limiter>,
    budget: SendRule,
}

/// The budget bucket of messages to an address, every kind together.
const SENDS: &str = "send";

impl Outbox {
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<SystemKeys>,
        brand: &str,
        code_ttl_secs: u64,
        texts: MessageTexts,
        limits: Arc<Limiter>,
        budget: SendRule,
    ) -> Self {
        Self {
            store,
            keys,
            brand: brand.to_owned(),
            code_minutes: code_ttl_secs.div_ceil(60),
            texts,
            wake: Arc::new(Notify::new()),
            limits,
            budget,
        }
    }

    /// Spends one message of `kind` from `to`'s send budget, or answers
    /// the wait. The kind's cool-down first: a refused resend must not
    /// use up the hourly budget.
    async fn spend(&self, to: &Address, kind: CodePurpose, now: i64) -> Result<()> {
        let rule = self.budget;
        let kind_bucket = format!("{SENDS}-{}", kind.as_str());
        self.limits
            .spend(&kind_bucket, to.as_str(), |b| {
                Ok((rule.cool_down(b, now)?, ()))
            })
            .await?;
        self.limits
            .spend(SENDS, to.as_str(), |b| Ok((rule.spend(b, now)?, ())))
            .await
    }

    /// Spends `to`'s send budget as a message of `kind` would, without
    /// sending one: for an address that gets nothing (no account), so that
    /// answers and cool-downs do not tell it from one that does.
    pub async fn withhold(&self, to: &Address, kind: CodePurpose, now: i64) -> Result<()> {
        self.spend(to, kind, now).await
    }

    /// Wakes the delivery task when a message is queued.
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Renders and queues a message, within `to`'s send budget (else
    /// `RateLimited` with the wait); returns its id.
    pub async fn enqueue(
        &self,
        to: &Address,
        template: Template<'_>,
        locale: Locale,
        now: i64,
    ) -> Result<String> {
        self.spend(to, template.purpose(), now).await?;
        let channel = to.channel();
        let r = templates::render(
            &self.texts,
            template,
            channel,
            locale,
            &self.brand,
            self.code_minutes,
        );
        let id = uuid::Uuid::now_v7().to_string();
        let plain = serde_json::to_vec(&Sealed {
            subject: r.subject,
            body: r.body,
        })
        .map_err(Error::internal)?;
        let message = CourierMessage {
            id: id.clone(),
            channel,
            recipient: to.as_str().to_owned(),
            template: template.name().to_owned(),
            sealed: self.keys.seal(id.as_bytes(), &plain),
            status: MessageStatus::Queued,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            last_error: None,
        };
        self.store.insert_message(&message).await?;
        self.wake.notify_one();
        Ok(id)
    }
}

/// The delivering side: claims due messages and hands them to providers.
pub struct Delivery {
    store: Arc<dyn Store>,
    keys: Arc<SystemKeys>,
    email: Box<dyn Provider>,
    sms: Box<dyn Provider>,
    max_attempts: i64,
    backoff_base_secs: i64,
}

/// How long a claimed message is reserved for the worker that claimed it;
/// longer than any provider timeout.
const LEASE_SECS: i64 = 120;
const MAX_BACKOFF_SECS: i64 = 3600;

impl Delivery {
    /// Providers as configured; `data_dir` is where the development provider
    /// writes messages.
    pub fn from_config(
        store: Arc<dyn Store>,
        keys: Arc<SystemKeys>,
        cfg: &CourierConfig,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        let outbox_dir = data_dir.join("outbox");
        let email: Box<dyn Provider> = match cfg.email_provider {
            EmailProvider::Log => Box::new(log::LogProvider::new(outbox_dir.clone())),
            EmailProvider::Smtp => Box::new(smtp::SmtpProvider::new(&cfg.smtp, &cfg.from)?),
            EmailProvider::Webhook => Box::new(webhook::WebhookProvider::new(&cfg.webhook)?),
        };
        let sms: Box<dyn Provider> = match cfg.sms_provider {
            SmsProvider::Log => Box::new(log::LogProvider::new(outbox_dir)),
            SmsProvider::Webhook => Box::new(webhook::WebhookProvider::new(&cfg.webhook)?),
        };
        Ok(Self {
            store,
            keys,
            email,
            sms,
            max_attempts: cfg.max_attempts.max(1) as i64,
            backoff_base_secs: cfg.backoff_base_secs.max(1) as i64,
        })
    }

    /// When to try again after `attempts` failed tries, or `None` to give up.
    fn retry_at(&self, attempts: i64, now: i64) -> Option<i64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let wait = self
            .backoff_base_secs
            .saturating_mul(1 << (attempts - 1).clamp(0, 20))
            .min(MAX_BACKOFF_SECS);
        Some(now + wait)
    }

    /// Sends every message due at `now`; returns how many were attempted.
    pub async fn run_once(&self, now: i64) -> anyhow::Result<usize> {
        let mut done = 0;
        loop {
            let batch = self.store.claim_messages(now, now + LEASE_SECS, 16).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            done += batch.len();
            for m in batch {
                self.deliver(m, now).await?;
            }
        }
    }

    async fn deliver(&self, m: CourierMessage, now: i64) -> anyhow::Result<()> {
        let Some(plain) = self.keys.open(m.id.as_bytes(), &m.sealed) else {
            // Sealed under another system secret: no retry can help.
            tracing::error!(message_id = %m.id, "courier message cannot be unsealed (system secret changed?)");
            self.store
                .mark_message_failed(&m.id, "cannot unseal", None)
                .await?;
            return Ok(());
        };
        let text: Sealed = serde_json::from_slice(&plain)?;
        let out = Outgoing {
            id: m.id.clone(),
            channel: m.channel,
            to: m.recipient.clone(),
            template: m.template.clone(),
            subject: text.subject,
            body: text.body,
        };
        let provider = match m.channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        };
        match provider.send(&out).await {
            Ok(()) => {
                tracing::info!(message_id = %m.id, channel = m.channel.as_str(), template = %m.template, attempt = m.attempts, "courier message sent");
                self.store.mark_message_sent(&m.id).await?;
            }
            Err(e) => {
                let retry_at = self.retry_at(m.attempts, now);
                tracing::warn!(message_id = %m.id, channel = m.channel.as_str(), attempt = m.attempts, error = %e, retry_at, "courier message not sent");
                self.store
                    .mark_message_failed(&m.id, &format!("{e:#}"), retry_at)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
