//! The command line: `serve`, `migrate`, `clients`, `identities`, `keys`.
//! Admin commands work on the database directly, so they need no running
//! server (like `hydra create client` against a local Hydra).

mod admin;

use clap::{Parser, Subcommand};
use oneauth_core::{Clock, SystemClock};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "oneauth",
    version,
    about = "OneAuth: OAuth 2.0 and OpenID Connect identity server"
)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "ONEAUTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (SQLite database, development secret). [default: data]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://… [default: sqlite://{data_dir}/oneauth.db]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server: public :8080, login UI :8081, admin 127.0.0.1:8082.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage OAuth2 clients.
    #[command(subcommand)]
    Clients(admin::ClientsCommand),
    /// Manage identities (users).
    #[command(subcommand)]
    Identities(admin::IdentitiesCommand),
    /// Inspect signing keys.
    #[command(subcommand)]
    Keys(admin::KeysCommand),
}

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Issuer URL, as clients reach it. [default: http://127.0.0.1:8080]
    #[arg(long)]
    pub issuer: Option<String>,
    /// Base URL of the login UI. [default: http://127.0.0.1:8081]
    #[arg(long)]
    pub ui_url: Option<String>,
    /// Public listener address. [default: 0.0.0.0:8080]
    #[arg(long)]
    pub public_listen: Option<SocketAddr>,
    /// Login UI listener address. [default: 0.0.0.0:8081]
    #[arg(long)]
    pub ui_listen: Option<SocketAddr>,
    /// Admin listener address. [default: 127.0.0.1:8082]
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// Log format: text or json. [default: text]
    #[arg(long)]
    pub log_format: Option<String>,
}

impl Cli {
    /// The flags that override configuration, shaped like `Config`.
    fn overrides(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        let mut put = |path: &[&str], v: serde_json::Value| {
            let mut cur = &mut o;
            for k in &path[..path.len() - 1] {
                cur = cur
                    .entry(k.to_string())
                    .or_insert_with(|| serde_json::json!({}))
                    .as_object_mut()
                    .expect("object");
            }
            cur.insert(path[path.len() - 1].to_string(), v);
        };
        if let Some(d) = &self.data_dir {
            put(&["data_dir"], d.display().to_string().into());
        }
        if let Some(u) = &self.database_url {
            put(&["database_url"], u.clone().into());
        }
        if let Command::Serve(s) = &self.command {
            let strings = [
                (&["issuer"][..], &s.issuer),
                (&["ui_url"], &s.ui_url),
                (&["log", "format"], &s.log_format),
            ];
            for (path, v) in strings {
                if let Some(v) = v {
                    put(path, v.clone().into());
                }
            }
            let addrs = [
                (&["listen", "public"][..], s.public_listen),
                (&["listen", "ui"], s.ui_listen),
                (&["listen", "admin"], s.admin_listen),
            ];
            for (path, v) in addrs {
                if let Some(v) = v {
                    put(path, v.to_string().into());
                }
            }
        }
        serde_json::Value::Object(o)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = crate::config::load(cli.config.as_deref(), cli.overrides())?;
    // Held to the end, so the last lines are written.
    let _log_flush = init_tracing(&config, matches!(cli.command, Command::Serve(_)))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(_) => serve(config, clock).await,
        Command::Migrate => {
            crate::server::create_data_dir(&config.data_dir)?;
            oneauth_store::open(&config.database_url()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Clients(c) => {
            admin::clients(c, crate::server::build(config, clock.clone()).await?, clock).await
        }
        Command::Identities(c) => {
            admin::identities(c, crate::server::build(config, clock.clone()).await?, clock).await
        }
        Command::Keys(c) => {
            admin::keys(c, crate::server::build(config, clock.clone()).await?, clock).await
        }
    }
}

async fn serve(config: oneauth_core::Config, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
    let grace = std::time::Duration::from_secs(config.shutdown_timeout_secs);
    crate::server::raise_open_files_limit();
    let mut running = crate::server::start(config, clock).await?;
    tokio::select! {
        // A listener failed: report it.
        r = running.wait() => r?,
        _ = shutdown_signal() => tracing::info!("shutting down: finishing in-flight requests"),
    }
    match tokio::time::timeout(grace, running.shutdown()).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!(
                seconds = grace.as_secs(),
                "requests still running at the shutdown deadline; exiting"
            );
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn init_tracing(
    config: &oneauth_core::Config,
    serving: bool,
) -> anyhow::Result<crate::log_writer::Flush> {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    let default = if serving {
        config.log.level.as_str()
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_env("ONEAUTH_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let (writer, flush) = crate::log_writer::LogWriter::new(std::io::stderr())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    match config.log.format {
        oneauth_core::config::LogFormat::Json => builder.json().init(),
        oneauth_core::config::LogFormat::Text => builder.init(),
    }
    Ok(flush)
}
