//! The token file: readable by the user only (0600, in a 0700 directory),
//! replaced whole so a crash never leaves half a file.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

/// What a sign-in leaves: the tokens and where they are good.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tokens {
    pub issuer: String,
    pub client_id: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

pub struct TokenFile {
    dir: PathBuf,
}

impl TokenFile {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("tokens.json")
    }

    pub fn save(&self, tokens: &Tokens) -> anyhow::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let tmp = self.dir.join("tokens.json.tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&serde_json::to_vec_pretty(tokens)?)?;
        f.sync_all()?;
        fs::rename(&tmp, self.path())?;
        Ok(())
    }

    pub fn load(&self) -> anyhow::Result<Tokens> {
        let path = self.path();
        let text = fs::read(&path).context("not signed in: run `login --browser` first")?;
        Ok(serde_json::from_slice(&text)?)
    }

    pub fn remove(&self) -> anyhow::Result<()> {
        fs::remove_file(self.path())?;
        Ok(())
    }
}
