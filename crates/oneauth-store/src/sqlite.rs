//! The SQLite store: one file, WAL, migrations embedded in the binary.

use crate::common::*;
use crate::*;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use std::str::FromStr as _;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod codes;
mod courier;
mod social;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// The one writing connection.
    pool: SqlitePool,
    /// Read-only connections.
    reads: SqlitePool,
    /// Token inserts, committed in groups by one task (see `token_writer`).
    inserts: mpsc::Sender<InsertRequest>,
}

/// Tokens to store, and where to say how it went.
struct InsertRequest {
    tokens: Vec<Token>,
    done: oneshot::Sender<StoreResult<()>>,
}

/// Most requests one group commit takes.
const GROUP_MAX: usize = 256;

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and migrates it.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        // SQLite has one writer. Every write goes through one connection, so
        // writers queue in-process instead of meeting SQLITE_BUSY and
        // sleeping in its busy handler; reads use a pool of their own (WAL
        // lets them run beside the writer).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let inserts = Self::token_writer(pool.clone());
        Ok(Self {
            pool,
            reads,
            inserts,
        })
    }

    fn client_from(row: &SqliteRow) -> StoreResult<Client> {
        let mut client: Client = serde_json::from_str(row.try_get("metadata")?)?;
        client.secret_hash = row.try_get("secret_hash")?;
        client.created_at = row.try_get("created_at")?;
        client.updated_at = row.try_get("updated_at")?;
        Ok(client)
    }

    fn identity_from(row: &SqliteRow) -> StoreResult<Identity> {
        let state: String = row.try_get("state")?;
        Ok(Identity {
            id: row.try_get("id")?,
            traits: serde_json::from_str(row.try_get("traits")?)?,
            state: identity_state_from(&state),
            password_hash: row.try_get("password_hash")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    fn session_from(r: &SqliteRow) -> StoreResult<Session> {
        Ok(Session {
            id: r.try_get("id")?,
            token_hash: r.try_get("token_hash")?,
            identity_id: r.try_get("identity_id")?,
            authenticated_at: r.try_get("authenticated_at")?,
            amr: split(r.try_get("amr")?),
            expires_at: r.try_get("expires_at")?,
        })
    }

    fn flow_from(row: &SqliteRow) -> StoreResult<Flow> {
        let mut flow: Flow = serde_json::from_str(row.try_get("data")?)?;
        flow.login_challenge_hash = row.try_get("login_challenge_hash")?;
        flow.login_verifier_hash = row.try_get("login_verifier_hash")?;
        flow.consent_challenge_hash = row.try_get("consent_challenge_hash")?;
        flow.consent_verifier_hash = row.try_get("consent_verifier_hash")?;
        let state: String = row.try_get("state")?;
        flow.state = flow_state_from(&state)?;
        flow.expires_at = row.try_get("expires_at")?;
        Ok(flow)
    }

    async fn write_client_origins(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        client: &Client,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM client_origins WHERE client_id = $1")
            .bind(&client.client_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM client_logout_uris WHERE client_id = $1")
            .bind(&client.client_id)
            .execute(&mut **tx)
            .await?;
        for uri in &client.post_logout_redirect_uris {
            sqlx::query(
                "INSERT OR IGNORE INTO client_logout_uris (uri, client_id) VALUES ($1, $2)",
            )
            .bind(uri)
            .bind(&client.client_id)
            .execute(&mut **tx)
            .await?;
        }
        for origin in client_origins(client) {
            sqlx::query("INSERT OR IGNORE INTO client_origins (origin, client_id) VALUES ($1, $2)")
                .bind(origin)
                .bind(&client.client_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &StoredKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed_key)
        .bind(key.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_keys(&self) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query("SELECT kid, alg, sealed_key, created_at FROM signing_keys ORDER BY created_at DESC, rowid DESC")
            .fetch_all(&self.reads)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredKey {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    sealed_key: r.try_get("sealed_key")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO clients (id, secret_hash, metadata, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&client.client_id)
            .bind(&client.secret_hash)
            .bind(serde_json::to_string(client)?)
            .bind(client.created_at)
            .bind(client.updated_at)
            .execute(&mut *tx)
            .await?;
        Self::write_client_origins(&mut tx, client).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_client(&self, client: &Client) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE clients SET secret_hash = $2, metadata = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(&client.client_id)
        .bind(&client.secret_hash)
        .bind(serde_json::to_string(client)?)
        .bind(client.updated_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            Self::write_client_origins(&mut tx, client).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn get_client(&self, id: &str) -> StoreResult<Option<Client>> {
        sqlx::query("SELECT * FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reads)
            .await?
            .as_ref()
            .map(Self::client_from)
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(&self.reads)
            .await?;
        rows.iter().map(Self::client_from).collect()
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1")
            .bind(origin)
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.is_some())
    }

    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_logout_uris WHERE uri = $1 LIMIT 1")
            .bind(uri)
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl IdentityStore for SqliteStore {
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO identities (id, email, phone, username, traits, state, password_hash, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&identity.id)
        .bind(&identity.traits.email)
        .bind(&identity.traits.phone)
        .bind(&identity.traits.username)
        .bind(serde_json::to_string(&identity.traits)?)
        .bind(identity.state.as_str())
        .bind(&identity.password_hash)
        .bind(identity.created_at)
        .bind(identity.updated_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_identity(&self, id: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reads)
            .await?
            .as_ref()
            .map(Self::identity_from)
            .transpose()
    }

    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.reads)
            .await?
            .as_ref()
            .map(Self::identity_from)
            .transpose()
    }

    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::identity_from)
            .transpose()
    }

    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::identity_from)
            .transpose()
    }

    async fn update_identity(&self, identity: &Identity) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE identities SET email = $2, phone = $3, username = $4, traits = $5,
                                   password_hash = $6, updated_at = $7
             WHERE id = $1",
        )
        .bind(&identity.id)
        .bind(&identity.traits.email)
        .bind(&identity.traits.phone)
        .bind(&identity.traits.username)
        .bind(serde_json::to_string(&identity.traits)?)
        .bind(&identity.password_hash)
        .bind(identity.updated_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn list_identities(&self) -> StoreResult<Vec<Identity>> {
        let rows = sqlx::query("SELECT * FROM identities ORDER BY created_at, id")
            .fetch_all(&self.reads)
            .await?;
        rows.iter().map(Self::identity_from).collect()
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // Tokens carry no foreign key (client_credentials tokens have no
        // subject), so they go explicitly, in the same transaction.
        sqlx::query("DELETE FROM tokens WHERE subject = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM identities WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn set_identity_state(
        &self,
        id: &str,
        state: IdentityState,
        now: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("UPDATE identities SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(state.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 && state == IdentityState::Disabled {
            sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE sessions SET revoked_at = $2 WHERE identity_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, identity_id, authenticated_at, amr, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.id)
        .bind(&s.token_hash)
        .bind(&s.identity_id)
        .bind(s.authenticated_at)
        .bind(join(&s.amr))
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.reads)
        .await?;
        row.as_ref().map(Self::session_from).transpose()
    }

    async fn revoke_session(&self, id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list_sessions(&self, identity_id: &str, now: i64) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY authenticated_at DESC, id",
        )
        .bind(identity_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::session_from).collect()
    }

    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked_at = $2
             WHERE identity_id = $1 AND revoked_at IS NULL AND id IS NOT $3",
        )
        .bind(identity_id)
        .bind(now)
        .bind(keep)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[async_trait]
impl FlowStore for SqliteStore {
    async fn insert_flow(&self, f: &Flow) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO flows (id, login_challenge_hash, login_verifier_hash, consent_challenge_hash,
                                consent_verifier_hash, state, data, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&f.id)
        .bind(&f.login_challenge_hash)
        .bind(&f.login_verifier_hash)
        .bind(&f.consent_challenge_hash)
        .bind(&f.consent_verifier_hash)
        .bind(f.state.as_str())
        .bind(serde_json::to_string(f)?)
        .bind(f.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
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
        sqlx::query(sql)
            .bind(hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(Self::flow_from)
            .transpose()
    }

    async fn advance_flow(&self, f: &Flow, from: FlowState) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE flows SET login_verifier_hash = $2, consent_challenge_hash = $3,
                              consent_verifier_hash = $4, state = $5, data = $6
             WHERE id = $1 AND state = $7",
        )
        .bind(&f.id)
        .bind(&f.login_verifier_hash)
        .bind(&f.consent_challenge_hash)
        .bind(&f.consent_verifier_hash)
        .bind(f.state.as_str())
        .bind(serde_json::to_string(f)?)
        .bind(from.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn get_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Vec<String>>> {
        let row =
            sqlx::query("SELECT scopes FROM consents WHERE identity_id = $1 AND client_id = $2")
                .bind(identity_id)
                .bind(client_id)
                .fetch_optional(&self.reads)
                .await?;
        row.map(|r| Ok(split(r.try_get("scopes")?))).transpose()
    }

    async fn upsert_consent(
        &self,
        identity_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (identity_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (identity_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
        )
        .bind(identity_id)
        .bind(client_id)
        .bind(join(scopes))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl CodeStore for SqliteStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        sqlx::query("INSERT INTO authorization_codes (hash, grant_id, data, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(&code.hash)
            .bind(&code.grant_id)
            .bind(serde_json::to_string(code)?)
            .bind(code.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn code_reused(&self, hash: &str) -> StoreResult<bool> {
        let reused: Option<Option<i64>> =
            sqlx::query_scalar("SELECT reused_at FROM authorization_codes WHERE hash = $1")
                .bind(hash)
                .fetch_optional(&self.reads)
                .await?;
        Ok(matches!(reused, Some(Some(_))))
    }

    async fn take_code(&self, hash: &str, now: i64) -> StoreResult<TakenCode> {
        let taken = sqlx::query(
            "UPDATE authorization_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL
             RETURNING data, expires_at",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = taken {
            let mut code: AuthorizationCode = serde_json::from_str(row.try_get("data")?)?;
            code.hash = hash.to_owned();
            code.expires_at = row.try_get("expires_at")?;
            return Ok(TakenCode::Fresh(Box::new(code)));
        }
        // Mark the reuse, so the first exchange (perhaps still storing its
        // tokens) sees it and revokes them too.
        let used = sqlx::query(
            "UPDATE authorization_codes SET reused_at = COALESCE(reused_at, $2) WHERE hash = $1 RETURNING grant_id",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match used {
            Some(r) => TakenCode::Reused {
                grant_id: r.try_get("grant_id")?,
            },
            None => TakenCode::Unknown,
        })
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_tokens(&self, tokens: &[Token]) -> StoreResult<()> {
        let (done, result) = oneshot::channel();
        let closed = || StoreError::Other(anyhow::anyhow!("the token writer has stopped"));
        self.inserts
            .send(InsertRequest {
                tokens: tokens.to_vec(),
                done,
            })
            .await
            .map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }

    async fn rotate_refresh(
        &self,
        hash: &str,
        now: i64,
        grace_secs: i64,
        successors: &[Token],
        sealed_successor: &[u8],
    ) -> StoreResult<Rotation> {
        // The conditional UPDATE is the compare-and-swap: SQLite runs one
        // writer at a time, so exactly one caller sees a row change.
        let mut tx = self.pool.begin().await?;
        let rotated = sqlx::query(
            "UPDATE tokens SET used_at = $2, successor = $3
             WHERE hash = $1 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .bind(sealed_successor)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if rotated == 1 {
            Self::insert_tokens_in(&mut tx, successors).await?;
            tx.commit().await?;
            return Ok(Rotation::Rotated);
        }
        let row = sqlx::query("SELECT grant_id, used_at, successor, revoked_at, expires_at FROM tokens WHERE hash = $1 AND kind = 'refresh'")
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(Rotation::Invalid);
        };
        let used_at: Option<i64> = row.try_get("used_at")?;
        let revoked_at: Option<i64> = row.try_get("revoked_at")?;
        let expires_at: i64 = row.try_get("expires_at")?;
        let successor: Option<Vec<u8>> = row.try_get("successor")?;
        Ok(match (used_at, successor) {
            _ if revoked_at.is_some() || expires_at <= now => Rotation::Invalid,
            (Some(used), Some(sealed)) if now - used <= grace_secs => Rotation::Replayed {
                sealed_successor: sealed,
            },
            (Some(_), _) => Rotation::Reused {
                grant_id: row.try_get("grant_id")?,
            },
            (None, _) => Rotation::Invalid,
        })
    }

    async fn get_token(&self, kind: TokenKind, hash: &str, now: i64) -> StoreResult<Option<Token>> {
        let row = sqlx::query(
            "SELECT * FROM tokens WHERE hash = $1 AND kind = $2 AND revoked_at IS NULL AND expires_at > $3",
        )
        .bind(hash)
        .bind(kind.as_str())
        .bind(now)
        .fetch_optional(&self.reads)
        .await?;
        row.map(|r| {
            Ok(Token {
                hash: r.try_get("hash")?,
                kind,
                grant_id: r.try_get("grant_id")?,
                client_id: r.try_get("client_id")?,
                subject: r.try_get("subject")?,
                scope: split(r.try_get("scope")?),
                session_id: r.try_get("session_id")?,
                issued_at: r.try_get("issued_at")?,
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
            })
        })
        .transpose()
    }

    async fn revoke_token(&self, hash: &str, now: i64) -> StoreResult<bool> {
        let n =
            sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .bind(now)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL",
        )
        .bind(grant_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

impl SqliteStore {
    async fn insert_tokens_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        tokens: &[Token],
    ) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        // One multi-row statement: a statement costs more than a row.
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO tokens (hash, kind, grant_id, client_id, subject, scope, session_id, issued_at, expires_at) ",
        );
        q.push_values(tokens, |mut row, t| {
            row.push_bind(&t.hash)
                .push_bind(t.kind.as_str())
                .push_bind(&t.grant_id)
                .push_bind(&t.client_id)
                .push_bind(&t.subject)
                .push_bind(join(&t.scope))
                .push_bind(&t.session_id)
                .push_bind(t.issued_at)
                .push_bind(t.expires_at);
        });
        q.build().execute(&mut **tx).await?;
        Ok(())
    }

    /// Group commit: token inserts from concurrent requests wait on a
    /// channel; one task takes all that are waiting (up to [`GROUP_MAX`])
    /// and stores them in one transaction, so a commit is shared instead of
    /// paid per request. A failed group is retried request by request, so
    /// one bad request fails alone.
    fn token_writer(pool: SqlitePool) -> mpsc::Sender<InsertRequest> {
        let (tx, mut rx) = mpsc::channel::<InsertRequest>(4 * GROUP_MAX);
        tokio::spawn(async move {
            let mut group = Vec::with_capacity(GROUP_MAX);
            while rx.recv_many(&mut group, GROUP_MAX).await > 0 {
                let all: Vec<Token> = group
                    .iter()
                    .flat_map(|r| r.tokens.iter().cloned())
                    .collect();
                if Self::insert_group(&pool, &all).await.is_ok() {
                    for r in group.drain(..) {
                        let _ = r.done.send(Ok(()));
                    }
                    continue;
                }
                for r in group.drain(..) {
                    let result = Self::insert_group(&pool, &r.tokens).await;
                    let _ = r.done.send(result);
                }
            }
        });
        tx
    }

    async fn insert_group(pool: &SqlitePool, tokens: &[Token]) -> StoreResult<()> {
        let mut tx = pool.begin().await?;
        // Rows per statement, under SQLite's bound-parameter limit.
        for chunk in tokens.chunks(1000) {
            Self::insert_tokens_in(&mut tx, chunk).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        Ok(())
    }

    async fn schema_current(&self) -> StoreResult<bool> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.reads)
                .await?;
        Ok(applied == MIGRATOR.iter().map(|m| m.version).max())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size() + self.reads.size(),
            idle: (self.pool.num_idle() + self.reads.num_idle()) as u32,
        }
    }
}

#[async_trait]
impl Cleanup for SqliteStore {
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        // Batches keep each write transaction short, so logins and token
        // requests never wait long behind the cleaner.
        const SQL: [&str; 7] = [
            "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM authorization_codes WHERE rowid IN (SELECT rowid FROM authorization_codes WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM flows WHERE rowid IN (SELECT rowid FROM flows WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < $1 LIMIT $2)",
            "DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE expires_at < $1 LIMIT $2)",
            // Codes stay a day after they are made: they count towards the
            // per-address cap long after they expire.
            "DELETE FROM one_time_codes WHERE rowid IN (SELECT rowid FROM one_time_codes WHERE created_at < $1 - 86400 LIMIT $2)",
            // Sent and abandoned messages are kept a week for the operator.
            "DELETE FROM courier_messages WHERE rowid IN (SELECT rowid FROM courier_messages
               WHERE status <> 'queued' AND created_at < $1 - 604800 LIMIT $2)",
        ];
        for sql in SQL {
            loop {
                let n = sqlx::query(sql)
                    .bind(now)
                    .bind(batch)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                deleted += n;
                if n < batch as u64 {
                    break;
                }
            }
        }
        sqlx::query(
            "UPDATE tokens SET successor = NULL WHERE successor IS NOT NULL AND used_at < $1",
        )
        .bind(sealed_before)
        .execute(&self.pool)
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
        let row = sqlx::query(
            "INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES ($1, $2, $4, $3)
             ON CONFLICT (key) DO UPDATE SET
                 hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + $4 ELSE $4 END,
                 window_start = excluded.window_start,
                 expires_at = excluded.expires_at
             RETURNING hits",
        )
        .bind(key)
        .bind(window_start)
        .bind(expires_at)
        .bind(count)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("hits")?)
    }
}
