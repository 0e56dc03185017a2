//! The SQLite store: one file, WAL, migrations embedded in the binary.
//! Every write goes to one writer thread that commits them in groups;
//! reads run in place on pooled read-only connections (see `conn`).

use crate::common::*;
use crate::rows::*;
use crate::*;
use conn::Conns;
use rusqlite::types::ToSql;
use rusqlite::{CachedStatement, Connection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::str::FromStr as _;

mod codes;
mod conn;
mod courier;
mod miniprogram;
mod social;

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

fn client_in(c: &Connection, id: &str) -> StoreResult<Option<Client>> {
    one(c, sql::GET_CLIENT, &[&id], |r| client_from(r))
}

fn token_with_identity_in(
    c: &Connection,
    kind: TokenKind,
    hash: &str,
    now: i64,
) -> StoreResult<Option<(Token, Option<Identity>)>> {
    one(
        c,
        sql::GET_TOKEN_WITH_IDENTITY,
        &[&hash, &kind.as_str(), &now],
        |r| token_with_identity_from(kind, r),
    )
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

fn write_client_origins(conn: &Connection, client: &Client) -> StoreResult<()> {
    let id = &client.client_id;
    exec(
        conn,
        "DELETE FROM client_origins WHERE client_id = $1",
        &[id],
    )?;
    exec(
        conn,
        "DELETE FROM client_logout_uris WHERE client_id = $1",
        &[id],
    )?;
    for uri in &client.post_logout_redirect_uris {
        exec(
            conn,
            "INSERT OR IGNORE INTO client_logout_uris (uri, client_id) VALUES ($1, $2)",
            &[uri, id],
        )?;
    }
    for origin in client_origins(client) {
        exec(
            conn,
            "INSERT OR IGNORE INTO client_origins (origin, client_id) VALUES ($1, $2)",
            &[&origin, id],
        )?;
    }
    Ok(())
}

fn insert_tokens_in(conn: &Connection, tokens: &[Token]) -> StoreResult<()> {
    // One prepared statement run per row: with the statement cached, a row
    // costs a bind and a step, and there is no SQL text to build.
    for t in tokens {
        exec(
            conn,
            sql::INSERT_TOKEN,
            &[
                &t.hash,
                &t.kind.as_str(),
                &t.grant_id,
                &t.client_id,
                &t.subject,
                &join(&t.scope),
                &t.session_id,
                &t.issued_at,
                &t.expires_at,
            ],
        )?;
    }
    Ok(())
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO signing_keys (kid, alg, sealed_key, created_at) VALUES ($1, $2, $3, $4)",
                &[&key.kid, &key.alg, &key.sealed_key, &key.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        self.scan(|c| {
            all(
                c,
                "SELECT kid, alg, sealed_key, created_at FROM signing_keys ORDER BY created_at DESC, rowid DESC",
                &[],
                |r| key_from(r),
            )
        })
        .await
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let client = client.clone();
        let metadata = serde_json::to_string(&client)?;
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO clients (id, secret_hash, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
                &[&client.client_id, &client.secret_hash, &metadata, &client.created_at, &client.updated_at],
            )?;
            write_client_origins(c, &client)
        })
        .await
    }

    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let client = client.clone();
        let metadata = serde_json::to_string(&client)?;
        self.write(move |c| {
            let n = exec(
                c,
                "UPDATE clients SET secret_hash = $2, metadata = $3, updated_at = $4 WHERE id = $1",
                &[
                    &client.client_id,
                    &client.secret_hash,
                    &metadata,
                    &client.updated_at,
                ],
            )?;
            if n == 1 {
                write_client_origins(c, &client)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<Client>> {
        self.read(|c| client_in(c, id))
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.scan(|c| {
            all(
                c,
                "SELECT * FROM clients ORDER BY created_at, id",
                &[],
                |r| client_from(r),
            )
        })
        .await
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            // No index on tokens.client_id (it would cost every token
            // insert): a deletion is rare and scans once.
            exec(c, "DELETE FROM tokens WHERE client_id = $1", &[&id])?;
            Ok(exec(c, "DELETE FROM clients WHERE id = $1", &[&id])? == 1)
        })
        .await
    }

    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(one(
                c,
                "SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1",
                &[&origin],
                |_| Ok(()),
            )?
            .is_some())
        })
    }

    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool> {
        self.read(|c| {
            Ok(one(
                c,
                "SELECT 1 FROM client_logout_uris WHERE uri = $1 LIMIT 1",
                &[&uri],
                |_| Ok(()),
            )?
            .is_some())
        })
    }
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()> {
        let i = identity.clone();
        let traits = serde_json::to_string(&i.traits)?;
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO identities (id, email, phone, username, traits, state, password_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &i.id,
                    &i.traits.email,
                    &i.traits.phone,
                    &i.traits.username,
                    &traits,
                    &i.state.as_str(),
                    &i.password_hash,
                    &i.created_at,
                    &i.updated_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| one(c, sql::GET_IDENTITY, &[&id], |r| identity_from(r)))
    }

    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE email = $1",
                &[&email],
                |r| identity_from(r),
            )
        })
    }

    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE phone = $1",
                &[&phone],
                |r| identity_from(r),
            )
        })
    }

    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM identities WHERE username = $1",
                &[&username],
                |r| identity_from(r),
            )
        })
    }

    async fn update_identity(&self, identity: &Identity) -> StoreResult<bool> {
        let i = identity.clone();
        let traits = serde_json::to_string(&i.traits)?;
        self.write(move |c| {
            let n = exec(
                c,
                "UPDATE identities SET email = $2, phone = $3, username = $4, traits = $5,
                                       password_hash = $6, updated_at = $7
                 WHERE id = $1",
                &[
                    &i.id,
                    &i.traits.email,
                    &i.traits.phone,
                    &i.traits.username,
                    &traits,
                    &i.password_hash,
                    &i.updated_at,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn list_identities(&self) -> StoreResult<Vec<Identity>> {
        self.scan(|c| {
            all(
                c,
                "SELECT * FROM identities ORDER BY created_at, id",
                &[],
                |r| identity_from(r),
            )
        })
        .await
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            // Tokens carry no foreign key (client_credentials tokens have no
            // subject), so they go explicitly, in the same transaction.
            exec(c, "DELETE FROM tokens WHERE subject = $1", &[&id])?;
            Ok(exec(c, "DELETE FROM identities WHERE id = $1", &[&id])? == 1)
        })
        .await
    }

    async fn set_identity_state(
        &self,
        id: &str,
        state: IdentityState,
        now: i64,
    ) -> StoreResult<bool> {
        let id = id.to_owned();
        self.write(move |c| {
            let n = exec(
                c,
                "UPDATE identities SET state = $2, updated_at = $3 WHERE id = $1",
                &[&id, &state.as_str(), &now],
            )?;
            if n == 1 && state == IdentityState::Disabled {
                revoke_access(c, &id, None, now)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn revoke_identity_access(
        &self,
        id: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let id = id.to_owned();
        let keep = keep_session.map(str::to_owned);
        self.write(move |c| revoke_access(c, &id, keep.as_deref(), now))
            .await
    }
}

/// [`IdentityStore::revoke_identity_access`] inside the caller's transaction.
fn revoke_access(c: &Connection, id: &str, keep: Option<&str>, now: i64) -> StoreResult<u64> {
    exec(
        c,
        "UPDATE tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )?;
    exec(
        c,
        "UPDATE sessions SET revoked_at = $2
         WHERE identity_id = $1 AND revoked_at IS NULL AND id IS NOT $3",
        &[&id, &now, &keep],
    )
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        let s = s.clone();
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO sessions (id, token_hash, identity_id, authenticated_at, amr, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &s.id,
                    &s.token_hash,
                    &s.identity_id,
                    &s.authenticated_at,
                    &join(&s.amr),
                    &s.expires_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        self.read(|c| {
            one(
                c,
                "SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
                &[&token_hash, &now],
                |r| session_from(r),
            )
        })
    }

    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<()> {
        let id = id.to_owned();
        self.write(move |c| {
            exec(
                c,
                "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_sessions(&self, identity_id: &str, now: i64) -> StoreResult<Vec<Session>> {
        let identity_id = identity_id.to_owned();
        self.scan(move |c| {
            all(
                c,
                "SELECT * FROM sessions WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2
                 ORDER BY authenticated_at DESC, id",
                &[&identity_id, &now],
                |r| session_from(r),
            )
        })
        .await
    }

    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let identity_id = identity_id.to_owned();
        let keep = keep.map(str::to_owned);
        self.write(move |c| {
            exec(
                c,
                "UPDATE sessions SET revoked_at = $2
                 WHERE identity_id = $1 AND revoked_at IS NULL AND id IS NOT $3",
                &[&identity_id, &now, &keep],
            )
        })
        .await
    }
}

#[async_trait]
impl FlowStore for SqliteStore {
    async fn insert_flow(&self, f: &Flow) -> StoreResult<()> {
        let f = f.clone();
        let data = serde_json::to_string(&f)?;
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO flows (id, login_challenge_hash, login_verifier_hash, consent_challenge_hash,
                                    consent_verifier_hash, state, data, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &f.id,
                    &f.login_challenge_hash,
                    &f.login_verifier_hash,
                    &f.consent_challenge_hash,
                    &f.consent_verifier_hash,
                    &f.state.as_str(),
                    &data,
                    &f.expires_at,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn get_flow(&self, key: FlowKey, hash: &str, now: i64) -> StoreResult<Option<Flow>> {
        let sql = match key {
            FlowKey::LoginChallenge => {
                "SELECT * FROM flows WHERE login_challenge_hash = $1 AND expires_at > $2"
            }
            FlowKey::LoginVerifier => {
                "SELECT * FROM flows WHERE login_verifier_hash = $1 AND expires_at > $2"
            }
            FlowKey::ConsentChallenge => {
                "SELECT * FROM flows WHERE consent_challenge_hash = $1 AND expires_at > $2"
            }
            FlowKey::ConsentVerifier => {
                "SELECT * FROM flows WHERE consent_verifier_hash = $1 AND expires_at > $2"
            }
        };
        self.read(|c| one(c, sql, &[&hash, &now], |r| flow_from(r)))
    }

    async fn advance_flow(&self, f: &Flow, from: FlowState) -> StoreResult<bool> {
        let f = f.clone();
        let data = serde_json::to_string(&f)?;
        self.write(move |c| {
            let n = exec(
                c,
                "UPDATE flows SET login_verifier_hash = $2, consent_challenge_hash = $3,
                                  consent_verifier_hash = $4, state = $5, data = $6
                 WHERE id = $1 AND state = $7",
                &[
                    &f.id,
                    &f.login_verifier_hash,
                    &f.consent_challenge_hash,
                    &f.consent_verifier_hash,
                    &f.state.as_str(),
                    &data,
                    &from.as_str(),
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn get_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Vec<String>>> {
        self.read(|c| {
            one(
                c,
                "SELECT scopes FROM consents WHERE identity_id = $1 AND client_id = $2",
                &[&identity_id, &client_id],
                |r| Ok(split(&r.col::<String>("scopes")?)),
            )
        })
    }

    async fn upsert_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let (identity_id, client_id, scopes) =
            (identity_id.to_owned(), client_id.to_owned(), join(scopes));
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO consents (identity_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (identity_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
                &[&identity_id, &client_id, &scopes, &now],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let data = serde_json::to_string(code)?;
        let (hash, grant_id, expires_at) =
            (code.hash.clone(), code.grant_id.clone(), code.expires_at);
        self.write(move |c| {
            exec(c, sql::INSERT_CODE, &[&hash, &grant_id, &data, &expires_at])?;
            Ok(())
        })
        .await
    }

    async fn get_unused_code(&self, hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        self.read(|c| one(c, sql::GET_UNUSED_CODE, &[&hash], |r| code_from(hash, r)))
    }

    async fn take_code(&self, hash: &str, now: i64) -> StoreResult<TakenCode> {
        let hash = hash.to_owned();
        self.write(move |c| take_code_in(c, &hash, now)).await
    }

    async fn redeem_code(&self, hash: &str, now: i64, tokens: &[Token]) -> StoreResult<TakenCode> {
        let (hash, tokens) = (hash.to_owned(), tokens.to_vec());
        self.write(move |c| {
            let taken = take_code_in(c, &hash, now)?;
            if matches!(taken, TakenCode::Fresh(_)) {
                insert_tokens_in(c, &tokens)?;
            }
            Ok(taken)
        })
        .await
    }
}

/// The single-use compare-and-swap of a code: the writer runs one write at
/// a time, so the conditional UPDATE is enough.
fn take_code_in(c: &Connection, hash: &str, now: i64) -> StoreResult<TakenCode> {
    if let Some(code) = one(c, sql::TAKE_CODE, &[&hash, &now], |r| code_from(hash, r))? {
        return Ok(TakenCode::Fresh(Box::new(code)));
    }
    // Record the reuse; the caller revokes what the first use issued.
    let used = one(c, sql::MARK_CODE_REUSED, &[&hash, &now], |r| {
        Ok(r.raw().get::<_, String>(0)?)
    })?;
    Ok(match used {
        Some(grant_id) => TakenCode::Reused { grant_id },
        None => TakenCode::Unknown,
    })
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_tokens(&self, tokens: &[Token]) -> StoreResult<()> {
        let tokens = tokens.to_vec();
        self.write(move |c| insert_tokens_in(c, &tokens)).await
    }

    async fn rotate_refresh(
        &self,
        hash: &str,
        now: i64,
        grace_secs: i64,
        successors: &[Token],
        sealed_successor: &[u8],
    ) -> StoreResult<Rotation> {
        let (hash, successors, sealed) = (
            hash.to_owned(),
            successors.to_vec(),
            sealed_successor.to_vec(),
        );
        self.write(move |c| {
            // The writer runs one write at a time, so exactly one caller
            // sees the conditional UPDATE change a row.
            let rotated = exec(
                c,
                sql::USE_REFRESH,
                &[&hash, &now, &sealed],
            )?;
            if rotated == 1 {
                insert_tokens_in(c, &successors)?;
                return Ok(Rotation::Rotated);
            }
            let row = one(
                c,
                "SELECT grant_id, used_at, successor, revoked_at, expires_at FROM tokens WHERE hash = $1 AND kind = 'refresh'",
                &[&hash],
                |r| {
                    Ok(RotationSeen {
                        grant_id: r.col("grant_id")?,
                        used_at: r.col("used_at")?,
                        successor: r.col("successor")?,
                        revoked_at: r.col("revoked_at")?,
                        expires_at: r.col("expires_at")?,
                    })
                },
            )?;
            Ok(row.map_or(Rotation::Invalid, |seen| seen.outcome(now, grace_secs)))
        })
        .await
    }

    async fn get_token(&self, kind: TokenKind, hash: &str, now: i64) -> StoreResult<Option<Token>> {
        self.read(|c| {
            one(c, sql::GET_TOKEN, &[&hash, &kind.as_str(), &now], |r| {
                token_from(kind, r)
            })
        })
    }

    async fn get_token_with_identity(
        &self,
        kind: TokenKind,
        hash: &str,
        now: i64,
    ) -> StoreResult<Option<(Token, Option<Identity>)>> {
        self.read(|c| token_with_identity_in(c, kind, hash, now))
    }

    async fn revoke_token(&self, hash: &str, now: i64) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write(move |c| Ok(exec(c, sql::REVOKE_TOKEN, &[&hash, &now])? == 1))
            .await
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<u64> {
        let grant_id = grant_id.to_owned();
        self.write(move |c| exec(c, sql::REVOKE_GRANT, &[&grant_id, &now]))
            .await
    }
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

#[async_trait]
impl Cleanup for SqliteStore {
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        // Batches keep each write short, so logins and token requests never
        // wait long behind the cleaner; each batch is a write of its own.
        const SQL: [&str; 8] = [
            "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM flows WHERE rowid IN (SELECT rowid FROM flows WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM budgets WHERE rowid IN (SELECT rowid FROM budgets WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM one_time_codes WHERE rowid IN (SELECT rowid FROM one_time_codes WHERE expires_at < $1 LIMIT $2)",
            // Sent and abandoned messages are kept a week for the operator.
            "DELETE FROM courier_messages WHERE rowid IN (SELECT rowid FROM courier_messages
               WHERE status <> 'queued' AND created_at < $1 - 604800 LIMIT $2)",
        ];
        for sql in SQL {
            loop {
                let n = self.write(move |c| exec(c, sql, &[&now, &batch])).await?;
                deleted += n;
                if n < batch as u64 {
                    break;
                }
            }
        }
        self.write(move |c| {
            exec(
                c,
                "UPDATE tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < $1",
                &[&sealed_before],
            )
        })
        .await?;
        Ok(deleted)
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        count: i64,
    ) -> StoreResult<i64> {
        let key = key.to_owned();
        self.write(move |c| {
            one(
                c,
                sql::RATE_LIMIT_HIT,
                &[&key, &window_start, &expires_at, &count],
                |r| Ok(r.raw().get::<_, i64>(0)?),
            )?
            .ok_or_else(|| StoreError::Other(anyhow::anyhow!("the upsert returned no row")))
        })
        .await
    }

    async fn get_budget(&self, key: &str) -> StoreResult<Option<(Budget, i64)>> {
        self.read(|c| one(c, sql::GET_BUDGET, &[&key], |r| budget_from(r)))
    }

    async fn put_budget(
        &self,
        key: &str,
        budget: &Budget,
        version: Option<i64>,
    ) -> StoreResult<bool> {
        let (key, b) = (key.to_owned(), *budget);
        self.write(move |c| {
            let params: [&dyn ToSql; 7] = [
                &key,
                &version,
                &b.count,
                &b.window_start,
                &b.last_at,
                &b.locked_until,
                &b.expires_at,
            ];
            let sql = match version {
                None => sql::INSERT_BUDGET,
                Some(_) => sql::UPDATE_BUDGET,
            };
            Ok(exec(c, sql, &params)? == 1)
        })
        .await
    }
}
