//! The SQLite store: one file, WAL, migrations embedded in the binary.
//! Every write goes to one writer thread that commits them in groups;
//! reads run in place on pooled read-only connections (see `conn`).

use crate::common::*;
use crate::rows::*;
use crate::*;
use clients::client_in;
use conn::Conns;
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::str::FromStr as _;
use tokens::token_with_identity_in;

mod cleanup;
mod clients;
mod codes;
mod conn;
mod courier;
mod device;
mod flows;
mod identities;
mod keys;
mod limits;
mod miniprogram;
mod passkey;
mod sessions;
mod social;
mod tokens;
mod totp;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    conns: Arc<Conns>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it.
    ///
    /// Migrations run through sqlx's SQLite migrator on a connection of its
    /// own, closed before the store serves: databases made by earlier
    /// versions keep their `_sqlx_migrations` bookkeeping and checksums.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        // Every connection opens the file by name; an in-memory database
        // would be a different one per connection.
        anyhow::ensure!(
            !url.contains(":memory:") && !url.contains("mode=memory"),
            "in-memory SQLite databases are not supported: name a file"
        );
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let path = options.get_filename().to_owned();
        owner_only(&path)?;
        let migrating = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let migrated = MIGRATOR.run(&migrating).await;
        migrating.close().await;
        migrated?;
        Ok(Self {
            conns: Arc::new(Conns::open(&path)?),
        })
    }

    /// Runs `f` in the writer's next group commit (see `Conns::write`).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.conns.write(f).await
    }

    /// A point lookup, in place (see `Conns::read`).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.conns.read(f)
    }

    /// A scan or list, on the blocking pool (see `Conns::scan`).
    async fn scan<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.conns.scan(f).await
    }
}

/// The database holds password hashes, token digests and encrypted keys:
/// readable by its owner only (0600), whatever the umask. Created here
/// before SQLite opens it, because SQLite creates a database 0644 (less the
/// umask), and gives the WAL and shared-memory files it makes later the
/// database file's mode (`os_unix.c`, `findCreateFileMode`), so they
/// follow. Files of older versions, made 0644, are narrowed.
fn owner_only(db: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(db)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {}", db.display())),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let file = std::path::PathBuf::from(name);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => tracing::warn!(
                    file = %file.display(),
                    old_mode = format!("{mode:o}"),
                    "database file was readable by others: now 0600"
                ),
                Err(e) => tracing::warn!(
                    file = %file.display(),
                    error = %e,
                    "database file is readable by others and could not be narrowed to 0600"
                ),
            }
        }
    }
    Ok(())
}

/// `sql` prepared (cached per connection) with `params` bound: `$N` binds
/// `params[N - 1]`, as in PostgreSQL, so both stores can share SQL text
/// (SQLite itself numbers `$N` parameters by first appearance).
fn bound<'c>(
    conn: &'c Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> StoreResult<CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for i in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=params.len()).contains(n))
            .ok_or_else(|| {
                StoreError::Other(anyhow::anyhow!(
                    "parameter {i} is not one of $1..${}: {sql}",
                    params.len()
                ))
            })?;
        stmt.raw_bind_parameter(i, params[n - 1])?;
    }
    Ok(stmt)
}

/// Runs a statement that returns no rows; the rows it changed.
fn exec(conn: &Connection, sql: &str, params: &[&dyn ToSql]) -> StoreResult<u64> {
    Ok(bound(conn, sql, params)?.raw_execute()? as u64)
}

/// The first row, if any, mapped by `f`.
fn one<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    f: impl FnOnce(&SqliteRow) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut stmt = bound(conn, sql, params)?;
    let mut rows = stmt.raw_query();
    rows.next()?.map(|r| f(&SqliteRow::new(r))).transpose()
}

/// Runs `f`'s reads in one transaction (one snapshot), ended whatever
/// `f` returns.
fn in_read_transaction<T>(conn: &Connection, f: impl FnOnce() -> StoreResult<T>) -> StoreResult<T> {
    exec(conn, "BEGIN", &[])?;
    let result = f();
    exec(conn, "COMMIT", &[])?;
    result
}

/// Every row, mapped by `f`.
fn all<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    mut f: impl FnMut(&SqliteRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut stmt = bound(conn, sql, params)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(&SqliteRow::new(row))?);
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|c| {
            one(c, "SELECT 1", &[], |_| Ok(()))?;
            Ok(())
        })
    }

    async fn schema_current(&self) -> StoreResult<bool> {
        let applied = self.read(|c| {
            one(
                c,
                "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
                &[],
                |r| Ok(r.raw().get::<_, Option<i64>>(0)?),
            )
        })?;
        Ok(applied.flatten() == MIGRATOR.iter().map(|m| m.version).max())
    }

    fn pool_stats(&self) -> PoolStats {
        let (size, idle) = self.conns.stats();
        PoolStats { size, idle }
    }

    async fn get_client_and_token(
        &self,
        client_id: &str,
        token: Option<(TokenKind, &str)>,
        now: i64,
    ) -> StoreResult<(Option<Client>, Option<(Token, Option<Identity>)>)> {
        // One read transaction instead of one per SELECT: starting and
        // ending one takes and drops a WAL-index lock (an fcntl(2) when no
        // other connection of the process holds it) and stats the file.
        self.read(|c| {
            in_read_transaction(c, || {
                let client = client_in(c, client_id)?;
                let token = match token {
                    Some((kind, hash)) => token_with_identity_in(c, kind, hash, now)?,
                    None => None,
                };
                Ok((client, token))
            })
        })
    }
}
