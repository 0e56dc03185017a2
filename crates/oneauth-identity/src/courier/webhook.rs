//! Any SMS (or email) gateway behind a small adapter: a JSON POST signed
//! with HMAC-SHA256 over the exact body, so the receiver can check that the
//! message comes from us. The URL comes from the operator's configuration,
//! not from users, so it is trusted as given; redirects are never followed.

use super::{Outgoing, Provider};
use async_trait::async_trait;
use aws_lc_rs::hmac;
use oneauth_core::config::Webhook;
use std::time::Duration;

pub const SIGNATURE_HEADER: &str = "x-oneauth-signature";

pub struct WebhookProvider {
    client: reqwest::Client,
    url: String,
    key: hmac::Key,
}

impl WebhookProvider {
    pub fn new(cfg: &Webhook) -> anyhow::Result<Self> {
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()?;
        Ok(Self {
            client,
            url: cfg.url.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA256, cfg.secret.as_bytes()),
        })
    }
}

/// `sha256=<hex>` of the body under the webhook secret.
pub fn signature(key: &hmac::Key, body: &[u8]) -> String {
    let tag = hmac::sign(key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[async_trait]
impl Provider for WebhookProvider {
    async fn send(&self, m: &Outgoing) -> anyhow::Result<()> {
        let body = serde_json::to_vec(&serde_json::json!({
            "message_id": m.id,
            "channel": m.channel.as_str(),
            "to": m.to,
            "template": m.template,
            "subject": m.subject,
            "body": m.body,
        }))?;
        let res = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&self.key, &body))
            .body(body)
            .send()
            .await
            // The error names the URL, never the body.
            .map_err(|e| anyhow::anyhow!("webhook request failed: {}", e.without_url()))?;
        anyhow::ensure!(
            res.status().is_success(),
            "webhook answered {}",
            res.status()
        );
        Ok(())
    }
}
