//! `oneauth`: see `oneauth --help`.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // One crypto provider for every TLS user in the process (DEPENDENCIES.md).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    match oneauth::cli::run(oneauth::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oneauth: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
