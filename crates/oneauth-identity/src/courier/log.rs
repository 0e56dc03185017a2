//! The development provider: logs that a message went out (never its
//! text, which carries a code) and writes the message to
//! `{data_dir}/outbox/{id}.txt`, readable by the owner only, so a developer
//! can read the code.

use super::{Outgoing, Provider};
use async_trait::async_trait;
use std::path::PathBuf;

pub struct LogProvider {
    dir: PathBuf,
}

impl LogProvider {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

#[async_trait]
impl Provider for LogProvider {
    async fn send(&self, m: &Outgoing) -> anyhow::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let path = self.dir.join(format!("{}.txt", m.id));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        write!(
            f,
            "To: {}\nChannel: {}\nSubject: {}\n\n{}\n",
            m.to,
            m.channel.as_str(),
            m.subject,
            m.body
        )?;
        tracing::info!(
            message_id = %m.id,
            channel = m.channel.as_str(),
            template = %m.template,
            file = %path.display(),
            "development courier: message written to the outbox directory (not sent)"
        );
        Ok(())
    }
}
