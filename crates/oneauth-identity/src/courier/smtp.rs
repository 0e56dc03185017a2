//! Email over SMTP (lettre): STARTTLS (required, not opportunistic) or
//! implicit TLS, verified against the OS trust store; plain only when the
//! operator says `none`, meant for a relay on loopback.

use super::{Outgoing, Provider};
use async_trait::async_trait;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use oneauth_core::config::{Smtp, SmtpTls};
use std::time::Duration;

pub struct SmtpProvider {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpProvider {
    pub fn new(cfg: &Smtp, from: &str) -> anyhow::Result<Self> {
        let builder = match cfg.tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs.max(1))));
        if !cfg.username.is_empty() {
            builder =
                builder.credentials(Credentials::new(cfg.username.clone(), cfg.password.clone()));
        }
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("courier.from is not a mailbox: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Provider for SmtpProvider {
    async fn send(&self, m: &Outgoing) -> anyhow::Result<()> {
        let email = Message::builder()
            .from(self.from.clone())
            .to(m.to.parse()?)
            .subject(m.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())?;
        self.transport.send(email).await?;
        Ok(())
    }
}
