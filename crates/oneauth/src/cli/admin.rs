//! `oneauth clients|identities|keys …`: the admin operations from the shell.
//! Output is JSON, the same shape as the admin API's.

use clap::Subcommand;
use oneauth_core::Clock;
use oneauth_core::config::SigningAlg;
use oneauth_http::admin::IdentityView;
use oneauth_oauth2::AuthorizationServer;
use oneauth_oauth2::client::{AuthMethod, ClientRegistration, GrantType, ResponseType};
use oneauth_proto::id::{ClientId, IdentityId};
use oneauth_store::IdentityState;
use std::str::FromStr;
use std::sync::Arc;

#[derive(Subcommand, Debug)]
pub enum ClientsCommand {
    /// Register a client (flags as `hydra create client`).
    Create(Box<ClientArgs>),
    /// List clients.
    List,
    /// Show one client.
    Get { id: ClientId },
    /// Delete a client.
    Delete { id: ClientId },
}

/// A comma-separated list of values of `T`.
fn csv<T: FromStr>(s: &str) -> Result<Vec<T>, T::Err> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// Client id; generated when omitted.
    #[arg(long)]
    id: Option<String>,
    /// Human-readable name shown on consent pages.
    #[arg(long)]
    name: Option<String>,
    /// Comma-separated, repeatable: authorization_code,refresh_token,client_credentials.
    #[arg(long = "grant-type", value_parser = csv::<GrantType>)]
    grant_type: Vec<Vec<GrantType>>,
    /// Comma-separated, repeatable: code.
    #[arg(long = "response-type", value_parser = csv::<ResponseType>)]
    response_type: Vec<Vec<ResponseType>>,
    /// Comma-separated, repeatable: allowed scopes.
    #[arg(long, value_parser = csv::<String>)]
    scope: Vec<Vec<String>>,
    /// Repeatable: exact redirect URIs; `http://127.0.0.1/…` or
    /// `http://[::1]/…` without a port takes any port, and a native app's
    /// own scheme (`com.example.app:/cb`) needs `--token-endpoint-auth-method none`.
    #[arg(long = "redirect-uri", value_parser = csv::<String>)]
    redirect_uri: Vec<Vec<String>>,
    /// Repeatable: post-logout redirect URIs.
    #[arg(long = "post-logout-callback", value_parser = csv::<String>)]
    post_logout_callback: Vec<Vec<String>>,
    /// none, client_secret_basic or client_secret_post.
    #[arg(long = "token-endpoint-auth-method")]
    token_endpoint_auth_method: Option<AuthMethod>,
    /// A chosen secret (at least 16 characters); generated when omitted.
    #[arg(long)]
    secret: Option<String>,
    /// Skip the consent screen (first-party apps).
    #[arg(long)]
    skip_consent: bool,
    /// Access token format for this client: opaque or jwt (RFC 9068).
    #[arg(long)]
    access_token_strategy: Option<String>,
    /// Allow password logins through `POST /oauth/native/cli`.
    #[arg(long)]
    native_cli_login: bool,
    /// Let a confidential legacy back end use the code flow without PKCE
    /// (required otherwise, RFC 9700 §2.1.1).
    #[arg(long)]
    allow_no_pkce: bool,
    /// Every login for this client proves a second factor, even when the
    /// MFA policy is `optional` (no effect when it is `off`).
    #[arg(long)]
    require_mfa: bool,
    /// https URI of the logo the consent page shows.
    #[arg(long)]
    logo_uri: Option<String>,
    /// https URI of the privacy policy the consent page links to.
    #[arg(long)]
    policy_uri: Option<String>,
    /// https URI of the terms of service the consent page links to.
    #[arg(long)]
    tos_uri: Option<String>,
    /// https URI of the client's home page (the error page's way back).
    #[arg(long)]
    client_uri: Option<String>,
}

fn flat<T: ToString>(v: Vec<Vec<T>>) -> Vec<String> {
    v.into_iter().flatten().map(|t| t.to_string()).collect()
}

fn print<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

pub async fn clients(
    cmd: ClientsCommand,
    server: Arc<AuthorizationServer>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    match cmd {
        ClientsCommand::Create(a) => {
            let a = *a;
            let scope = flat(a.scope);
            let reg = ClientRegistration {
                client_id: a.id,
                client_name: a.name,
                client_secret: a.secret,
                redirect_uris: flat(a.redirect_uri),
                grant_types: flat(a.grant_type),
                response_types: flat(a.response_type),
                scope: (!scope.is_empty()).then(|| scope.join(" ")),
                token_endpoint_auth_method: a.token_endpoint_auth_method.map(|m| m.to_string()),
                post_logout_redirect_uris: flat(a.post_logout_callback),
                skip_consent: a.skip_consent,
                id_token_signed_response_alg: None,
                access_token_strategy: a.access_token_strategy,
                native_cli_login: a.native_cli_login,
                allow_no_pkce: a.allow_no_pkce,
                require_mfa: a.require_mfa,
                logo_uri: a.logo_uri,
                policy_uri: a.policy_uri,
                tos_uri: a.tos_uri,
                client_uri: a.client_uri,
            };
            print(&server.create_client(reg, clock.now()).await?)
        }
        ClientsCommand::List => print(&server.list_clients().await?),
        ClientsCommand::Get { id } => match server.client_view(&id).await? {
            Some(c) => print(&c),
            None => anyhow::bail!("no client `{id}`"),
        },
        ClientsCommand::Delete { id } => {
            if !server.delete_client(&id).await? {
                anyhow::bail!("no client `{id}`");
            }
            println!("deleted client {id}");
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum IdentitiesCommand {
    /// Create an identity with an email and (optionally) a password.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
    List,
    Get {
        id: IdentityId,
    },
    /// Disable: the identity can no longer log in; its sessions and tokens
    /// are revoked at once.
    Disable {
        id: IdentityId,
    },
    /// Enable a disabled identity.
    Enable {
        id: IdentityId,
    },
    Delete {
        id: IdentityId,
    },
}

/// The admin API's view: never the password hash.
fn identity_json(i: &oneauth_store::Identity) -> IdentityView {
    IdentityView::from(i.clone())
}

pub async fn identities(
    cmd: IdentitiesCommand,
    server: Arc<AuthorizationServer>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    let cmd_state = match &cmd {
        IdentitiesCommand::Disable { .. } => Some(IdentityState::Disabled),
        IdentitiesCommand::Enable { .. } => Some(IdentityState::Active),
        _ => None,
    };
    match cmd {
        IdentitiesCommand::Create {
            email,
            password,
            name,
        } => {
            let i = server
                .create_identity(&email, password.as_deref(), name, clock.now())
                .await?;
            print(&identity_json(&i))
        }
        IdentitiesCommand::List => print(
            &server
                .list_identities()
                .await?
                .iter()
                .map(identity_json)
                .collect::<Vec<_>>(),
        ),
        IdentitiesCommand::Get { id } => match server.identity(&id).await? {
            Some(i) => print(&identity_json(&i)),
            None => anyhow::bail!("no identity `{id}`"),
        },
        IdentitiesCommand::Disable { id } | IdentitiesCommand::Enable { id } => {
            let state = if matches!(cmd_state, Some(IdentityState::Disabled)) {
                IdentityState::Disabled
            } else {
                IdentityState::Active
            };
            if server
                .set_identity_state(&id, state, clock.now())
                .await?
                .is_none()
            {
                anyhow::bail!("no identity `{id}`");
            }
            println!("identity {id} is {}", state.as_str());
            Ok(())
        }
        IdentitiesCommand::Delete { id } => {
            if !server.delete_identity(&id).await? {
                anyhow::bail!("no identity `{id}`");
            }
            println!("deleted identity {id}");
            Ok(())
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List signing keys (public parts), newest first.
    List,
    /// Generate a new signing key; it signs from the next key reload on
    /// (every node within `maintenance.key_reload_interval_secs`), and the
    /// old one stays published until what it signed has expired.
    Rotate {
        /// RS256, ES256 or EdDSA [default: the configured id_token algorithm]
        #[arg(long)]
        alg: Option<String>,
    },
}

pub async fn keys(
    cmd: KeysCommand,
    server: Arc<AuthorizationServer>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Rotate { alg } => {
            let alg = alg
                .map(|a| {
                    SigningAlg::parse(&a).ok_or_else(|| anyhow::anyhow!("unknown algorithm `{a}`"))
                })
                .transpose()?;
            let (kid, alg) = server.rotate_signing_key(alg, clock.now()).await?;
            print(&serde_json::json!({ "kid": kid, "alg": alg.as_str() }))
        }
        KeysCommand::List => {
            let keyring = server.keyring();
            print(&keyring.keys().iter().map(|k| &k.jwk).collect::<Vec<_>>())
        }
    }
}
