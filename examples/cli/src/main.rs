//! A command-line tool that signs in with OneAuth the way RFC 8252 asks a
//! native app to: in the user's browser, back to a loopback port the tool
//! listens on for one request, with PKCE, state and nonce; on a machine
//! without a browser, `login --device` signs in by the device flow
//! (RFC 8628). Tokens are kept in a file only the user can read; `logout`
//! revokes them as the guide does.
//!
//! ```text
//! oneauth-example-cli --issuer https://auth.example.com --client-id my-cli login --browser
//! oneauth-example-cli --issuer https://auth.example.com --client-id my-cli login --device
//! oneauth-example-cli whoami
//! oneauth-example-cli refresh
//! oneauth-example-cli logout
//! ```

mod loopback;
mod oidc;
mod tokens;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tokens::{TokenFile, Tokens};

#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// OneAuth's issuer URL (its public listener).
    #[arg(long, env = "ONEAUTH_ISSUER", global = true)]
    issuer: Option<String>,
    /// This tool's client id: a public client (token_endpoint_auth_method
    /// none) with the redirect URI `http://127.0.0.1/callback`, no port.
    #[arg(long, env = "ONEAUTH_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// Where the tokens are kept; created 0700, the file 0600.
    #[arg(long, env = "ONEAUTH_CLI_DIR", global = true)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sign in and keep the tokens.
    Login {
        /// In this machine's browser, back to a loopback port.
        #[arg(long, conflicts_with = "device", required_unless_present = "device")]
        browser: bool,
        /// With a code typed on another device (RFC 8628): for machines
        /// without a browser.
        #[arg(long)]
        device: bool,
    },
    /// Trade the refresh token for new tokens.
    Refresh,
    /// Show the signed-in user (OIDC userinfo).
    Whoami,
    /// Revoke both tokens and forget them.
    Logout,
}

impl Cli {
    fn token_file(&self) -> anyhow::Result<TokenFile> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => PathBuf::from(std::env::var("HOME").context("no HOME: pass --dir")?)
                .join(".config/oneauth-example-cli"),
        };
        Ok(TokenFile::new(dir))
    }

    fn required(value: &Option<String>, flag: &str) -> anyhow::Result<String> {
        value
            .clone()
            .with_context(|| format!("--{flag} is needed to sign in"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let file = cli.token_file()?;
    match cli.command {
        Command::Login { device, .. } => {
            let issuer = Cli::required(&cli.issuer, "issuer")?;
            let client_id = Cli::required(&cli.client_id, "client-id")?;
            let provider = oidc::Provider::discover(&issuer, &client_id).await?;
            let tokens = if device {
                provider.login_on_device().await?
            } else {
                provider.login_in_browser().await?
            };
            file.save(&tokens)?;
            println!("Signed in. Tokens are in {}.", file.path().display());
        }
        Command::Refresh => {
            let tokens = file.load()?;
            let provider = oidc::Provider::discover(&tokens.issuer, &tokens.client_id).await?;
            file.save(&provider.refresh(&tokens).await?)?;
            println!("Tokens refreshed.");
        }
        Command::Whoami => {
            let tokens = file.load()?;
            let provider = oidc::Provider::discover(&tokens.issuer, &tokens.client_id).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&provider.userinfo(&tokens).await?)?
            );
        }
        Command::Logout => {
            let tokens: Tokens = file.load()?;
            oidc::revoke(&tokens).await?;
            file.remove()?;
            println!("Signed out; both tokens are revoked.");
        }
    }
    Ok(())
}
