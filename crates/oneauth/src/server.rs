//! Assembles OneAuth from its parts and runs the three listeners.

use anyhow::Context as _;
use oneauth_core::{Clock, Config};
use oneauth_crypto::{SystemKeys, TokenMinter};
use oneauth_http::AppState;
use oneauth_identity::Identities;
use oneauth_oauth2::AuthorizationServer;
use oneauth_store::Store;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The system secret: configured, or (development) generated once into the
/// data directory.
fn system_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    if !config.secrets.system.is_empty() {
        return Ok(config.secrets.system.as_bytes().to_vec());
    }
    let path = config.data_dir.join("system.secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        return Ok(s.trim().as_bytes().to_vec());
    }
    let secret = oneauth_crypto::random_b64url(32);
    write_private(&path, &secret)?;
    tracing::warn!(
        path = %path.display(),
        "no secrets.system configured: generated a development secret; set ONEAUTH_SECRETS__SYSTEM in production"
    );
    Ok(secret.into_bytes())
}

/// The data directory (database, development secret, development outbox)
/// is the owner's only: 0700 when we create it. An existing one is left
/// as the operator made it.
pub fn create_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating data dir {}", dir.display()))
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

/// The services of one process, each built once and shared by the
/// listeners and background tasks that need it, so none reaches through
/// another to get at a third.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub system_keys: Arc<SystemKeys>,
    pub identities: Arc<Identities>,
    pub server: Arc<AuthorizationServer>,
}

/// Opens storage, loads or creates keys, and builds the authorization server.
pub async fn build(
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<AuthorizationServer>> {
    Ok(assemble(config, clock).await?.server)
}

/// Opens storage, loads or creates keys, and builds every service on them.
pub async fn assemble(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
    create_data_dir(&config.data_dir)?;
    let store = oneauth_store::open(&config.database_url())
        .await
        .context("opening the database")?;
    let system_keys = Arc::new(SystemKeys::derive(&system_secret(&config)?));
    let minter = Arc::new(TokenMinter::new(system_keys.token_tag.clone()));
    let retention = oneauth_oauth2::keys::retention_secs(&config);
    let keyring = oneauth_oauth2::keys::load_or_generate(
        store.as_ref(),
        &system_keys,
        clock.now().unix_timestamp(),
        retention,
    )
    .await?;
    let identities = Arc::new(Identities::new(
        store.clone(),
        minter.clone(),
        system_keys.clone(),
        &config,
    )?);
    let config = Arc::new(config);
    let server = Arc::new(AuthorizationServer::new(
        store.clone(),
        config.clone(),
        system_keys.clone(),
        minter,
        identities.clone(),
        keyring,
    ));
    Ok(Services {
        config,
        store,
        system_keys,
        identities,
        server,
    })
}

/// A running OneAuth: its bound addresses and a way to stop it.
pub struct Running {
    pub public: SocketAddr,
    pub ui: SocketAddr,
    pub admin: SocketAddr,
    pub services: Services,
    stop: watch::Sender<bool>,
    tasks: JoinSet<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        while let Some(r) = self.tasks.join_next().await {
            r??;
        }
        Ok(())
    }

    /// Waits until a listener fails (it should not) or shutdown completes.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        if let Some(r) = self.tasks.join_next().await {
            r??;
        }
        Ok(())
    }
}

/// Binds the three listeners of the configuration and serves until
/// [`Running::shutdown`].
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let bind = async |addr: SocketAddr| {
        TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))
    };
    let listeners = Listeners {
        public: bind(config.listen.public).await?,
        ui: bind(config.listen.ui).await?,
        admin: bind(config.listen.admin).await?,
    };
    start_on(config, clock, listeners).await
}

/// Listeners bound by the caller (tests bind port 0 first, then set the
/// issuer to the port they got).
pub struct Listeners {
    pub public: TcpListener,
    pub ui: TcpListener,
    pub admin: TcpListener,
}

/// The handlers' states: each front end gets the services it calls.
fn front_end_states(
    services: &Services,
    clock: Arc<dyn Clock>,
    theme: Arc<oneauth_ui::Theme>,
) -> (AppState, oneauth_ui::UiState) {
    let limits = services.identities.limits();
    let api = AppState {
        server: services.server.clone(),
        identities: services.identities.clone(),
        limits: limits.clone(),
        config: services.config.clone(),
        clock: clock.clone(),
    };
    let ui = oneauth_ui::UiState {
        server: services.server.clone(),
        identities: services.identities.clone(),
        limits,
        config: services.config.clone(),
        system_keys: services.system_keys.clone(),
        clock,
        theme,
    };
    (api, ui)
}

pub async fn start_on(
    config: Config,
    clock: Arc<dyn Clock>,
    listeners: Listeners,
) -> anyhow::Result<Running> {
    // Install the recorder before anything records.
    oneauth_http::metrics::handle();
    // Before storage: a broken template needs no database to be reported.
    let theme = Arc::new(oneauth_ui::Theme::load(&config.ui.templates_dir)?);
    let services = assemble(config, clock.clone()).await?;
    let server = services.server.clone();
    let config = services.config.clone();
    let (state, ui_state) = front_end_states(&services, clock.clone(), theme);
    let clock_for_upkeep = clock;
    let context = Arc::new(oneauth_http::ListenerContext::new(&config));
    let settings = crate::listener::Settings {
        max_connections: config.http.connections_per_listener(open_files_limit()),
        header: std::time::Duration::from_secs(config.http.header_read_timeout_secs),
        idle: std::time::Duration::from_secs(config.http.idle_timeout_secs),
    };
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut serve = |listener: TcpListener, router: axum::Router| -> anyhow::Result<SocketAddr> {
        let local = listener.local_addr()?;
        let app = router.layer(axum::middleware::from_fn_with_state(
            context.clone(),
            oneauth_http::request_context,
        ));
        tasks.spawn(crate::listener::serve(
            listener,
            app,
            settings,
            stopped.clone(),
        ));
        Ok(local)
    };
    let public = serve(listeners.public, oneauth_http::public_router(state.clone()))?;
    let ui = serve(listeners.ui, oneauth_ui::router(ui_state))?;
    let admin = serve(listeners.admin, oneauth_http::admin_router(state))?;
    spawn_courier(
        &mut tasks,
        &services,
        clock_for_upkeep.clone(),
        stopped.clone(),
    )?;
    spawn_upkeep(
        &mut tasks,
        server.clone(),
        &config,
        clock_for_upkeep,
        stopped.clone(),
    );
    tracing::info!(
        %public,
        %ui,
        %admin,
        issuer = %server.issuer(),
        connections_per_listener = settings.max_connections,
        "OneAuth is listening"
    );
    Ok(Running {
        public,
        ui,
        admin,
        services,
        stop,
        tasks,
    })
}

/// Raises the soft limit on open files to the hard one, as Go's runtime
/// does: the soft default (1024 under systemd) exists for programs that
/// use select(2), which nothing here does (epoll), and it would cap the
/// connections each listener takes (see `Http::connections_per_listener`).
pub fn raise_open_files_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.maximum.is_some() && limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            ..limit
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "could not raise the open-file limit to its hard limit");
        }
    }
}

/// The soft limit on open files (`ulimit -n`); unlimited as `u64::MAX`.
fn open_files_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// Periodic upkeep: delete expired rows, pick up rotated keys, fold metric
/// samples. Failures are logged and retried next round; they never stop the
/// server.
fn spawn_upkeep(
    tasks: &mut JoinSet<std::io::Result<()>>,
    server: Arc<AuthorizationServer>,
    config: &Config,
    clock: Arc<dyn Clock>,
    mut stopped: watch::Receiver<bool>,
) {
    let m = &config.maintenance;
    let mut cleanup = tokio::time::interval(std::time::Duration::from_secs(
        m.cleanup_interval_secs.max(1),
    ));
    let mut keys = tokio::time::interval(std::time::Duration::from_secs(
        m.key_reload_interval_secs.max(1),
    ));
    // The exporter keeps every histogram sample until upkeep folds them into
    // the buckets: without this, memory grows with requests until someone
    // scrapes /metrics (~4 MiB a minute under load in the soak).
    let mut metrics = tokio::time::interval(std::time::Duration::from_secs(5));
    tasks.spawn(async move {
        loop {
            tokio::select! {
                // The flag only ever goes from false to true.
                _ = stopped.changed() => return Ok(()),
                _ = cleanup.tick() => match server.cleanup(clock.now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "deleted expired rows"),
                    Err(e) => tracing::warn!(error = ?e, "cleanup failed"),
                },
                _ = keys.tick() => match server.reload_keys(clock.now()).await {
                    Ok(true) => tracing::info!("signing keys reloaded"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = ?e, "key reload failed"),
                },
                _ = metrics.tick() => oneauth_http::metrics::handle().run_upkeep(),
            }
        }
    });
}

/// Delivers queued messages: at once when one is queued here, and every
/// `courier.poll_interval_ms` for retries and messages queued by other
/// nodes. Failures are logged and retried; they never stop the server.
fn spawn_courier(
    tasks: &mut JoinSet<std::io::Result<()>>,
    services: &Services,
    clock: Arc<dyn Clock>,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let config = &services.config;
    let delivery = oneauth_identity::courier::Delivery::from_config(
        services.store.clone(),
        services.system_keys.clone(),
        &config.courier,
        &config.data_dir,
    )
    .context("configuring the courier")?;
    let wake = services.identities.outbox().wake_handle();
    let mut poll = tokio::time::interval(std::time::Duration::from_millis(
        config.courier.poll_interval_ms.max(10),
    ));
    tasks.spawn(async move {
        loop {
            tokio::select! {
                _ = stopped.changed() => return Ok(()),
                _ = wake.notified() => {}
                _ = poll.tick() => {}
            }
            if let Err(e) = delivery.run_once(clock.now().unix_timestamp()).await {
                tracing::warn!(error = ?e, "courier round failed");
            }
        }
    });
    Ok(())
}
