//! The PostgreSQL store, for several nodes sharing one database: a pool per
//! node, migrations embedded in the binary and run at open. Not a second
//! domain: every method keeps the SQLite store's semantics.
//!
//! Concurrency: connections run at PostgreSQL's default READ COMMITTED.
//! Single-use and compare-and-swap methods are one conditional
//! `UPDATE … WHERE <expected state> … [RETURNING]`: a concurrent writer
//! blocks on the row lock, then re-checks the WHERE clause against the
//! committed row and matches nothing. So exactly one caller wins, with no
//! read-then-write window and no serialization failures to retry. Where a
//! revocation must also catch rows another transaction is inserting (the
//! successors of a refresh rotation), both take a lock first, identity before
//! grant before token, in the same order everywhere so they cannot deadlock.

use crate::common::*;
use crate::rows::*;
use crate::*;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr as _;
use std::time::Duration;

mod codes;
mod courier;
mod miniprogram;
mod social;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Key space of the per-grant advisory locks (first key of the two-key form,
/// the second being `hashtext(grant_id)`). Two-key locks never collide with
/// sqlx's one-key migration lock; a hash collision between grants only makes
/// them wait for each other.
const GRANT_LOCKS: i32 = 0x4f41_0001;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database at `url` and migrates it. Options in the URL
    /// (e.g. `?options[search_path]=oneauth`) pass through to every connection.
    ///
    /// Safe when several nodes start at once: sqlx's PostgreSQL migrator
    /// takes `pg_advisory_lock` (keyed by database name) on its connection
    /// before it even creates `_sqlx_migrations`, and releases it when done,
    /// so one node applies each migration and the others wait, then find it
    /// applied. Checked in sqlx-postgres 0.9 `migrate.rs` (`lock`) and by the
    /// conformance test `postgres_migrations_run_concurrently`.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            // Each node holds at most this many of the server's connections
            // (PostgreSQL allows 100 by default), so a few nodes fit.
            .max_connections(10)
            // A request waits this long for a free connection, then fails
            // as Unavailable instead of hanging.
            .acquire_timeout(Duration::from_secs(5))
            // Give idle connections back, and renew long-lived ones so a
            // failover or server-side limit is picked up.
            .idle_timeout(Duration::from_secs(600))
            .max_lifetime(Duration::from_secs(1800))
            // Ping a connection before handing it out (sqlx's default, kept
            // on purpose): after a database restart or failover, dead
            // connections are replaced instead of failing requests.
            .test_before_acquire(true)
            // Opens one connection now: a wrong URL fails start-up.
            .connect_with(options)
            .await?;
        if let Err(e) = MIGRATOR.run(&pool).await {
            // A failed migration returns before sqlx unlocks, and the
            // connection would go back to the pool still holding the
            // advisory lock; closing the pool ends that session and frees
            // the lock for the other nodes.
            pool.close().await;
            return Err(e.into());
        }
        Ok(Self { pool })
    }

    async fn write_client_origins(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
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
            sqlx::query("INSERT INTO client_logout_uris (uri, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(uri)
                .bind(&client.client_id)
                .execute(&mut **tx)
                .await?;
        }
        for origin in client_origins(client) {
            sqlx::query("INSERT INTO client_origins (origin, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(origin)
                .bind(&client.client_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl KeyStore for PostgresStore {
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
        let rows = sqlx::query("SELECT kid, alg, sealed_key, created_at FROM signing_keys ORDER BY created_at DESC, seq DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from).collect()
    }
}

#[async_trait]
impl ClientStore for PostgresStore {
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
        sqlx::query(sql::GET_CLIENT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows = sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(client_from).collect()
    }

    async fn delete_client(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // No index on tokens.client_id (it would cost every token insert):
        // a deletion is rare and scans once.
        sqlx::query("DELETE FROM tokens WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn is_client_origin(&self, origin: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1")
            .bind(origin)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn is_post_logout_uri(&self, uri: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM client_logout_uris WHERE uri = $1 LIMIT 1")
            .bind(uri)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl IdentityStore for PostgresStore {
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
        sqlx::query(sql::GET_IDENTITY)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_email(&self, email: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_phone(&self, phone: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
            .transpose()
    }

    async fn get_identity_by_username(&self, username: &str) -> StoreResult<Option<Identity>> {
        sqlx::query("SELECT * FROM identities WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(identity_from)
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
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(identity_from).collect()
    }

    async fn delete_identity(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // The identity row goes first: like set_identity_state, this locks
        // the identity before its tokens and sessions, so the two cannot
        // deadlock when they run at once.
        let n = sqlx::query("DELETE FROM identities WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Tokens carry no foreign key (client_credentials tokens have no
        // subject), so they go explicitly, in the same transaction.
        sqlx::query("DELETE FROM tokens WHERE subject = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
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
            revoke_access(&mut tx, id, None, now).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn revoke_identity_access(
        &self,
        id: &str,
        keep_session: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let ended = revoke_access(&mut tx, id, keep_session, now).await?;
        tx.commit().await?;
        Ok(ended)
    }
}

/// [`IdentityStore::revoke_identity_access`] inside the caller's transaction.
async fn revoke_access(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: &str,
    keep: Option<&str>,
    now: i64,
) -> StoreResult<u64> {
    sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE subject = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query(
        "UPDATE sessions SET revoked_at = $2
         WHERE identity_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
    )
    .bind(id)
    .bind(now)
    .bind(keep)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

#[async_trait]
impl SessionStore for PostgresStore {
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
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from).transpose()
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
        rows.iter().map(session_from).collect()
    }

    async fn revoke_other_sessions(
        &self,
        identity_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        Ok(sqlx::query(
            "UPDATE sessions SET revoked_at = $2
             WHERE identity_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
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
impl FlowStore for PostgresStore {
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
            .map(flow_from)
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
impl ConsentStore for PostgresStore {
    async fn get_consent(
        &self,
        identity_id: &str,
        client_id: &str,
    ) -> StoreResult<Option<Vec<String>>> {
        let row =
            sqlx::query("SELECT scopes FROM consents WHERE identity_id = $1 AND client_id = $2")
                .bind(identity_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
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
impl CodeStore for PostgresStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        sqlx::query(sql::INSERT_CODE)
            .bind(&code.hash)
            .bind(&code.grant_id)
            .bind(serde_json::to_string(code)?)
            .bind(code.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn get_unused_code(&self, hash: &str) -> StoreResult<Option<AuthorizationCode>> {
        sqlx::query(sql::GET_UNUSED_CODE)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| code_from(hash, &r))
            .transpose()
    }

    async fn take_code(&self, hash: &str, now: i64) -> StoreResult<TakenCode> {
        let mut tx = self.pool.begin().await?;
        let taken = Self::take_code_in(&mut tx, hash, now).await?;
        tx.commit().await?;
        Ok(taken)
    }

    async fn redeem_code(&self, hash: &str, now: i64, tokens: &[Token]) -> StoreResult<TakenCode> {
        let mut tx = self.pool.begin().await?;
        let taken = Self::take_code_in(&mut tx, hash, now).await?;
        if matches!(taken, TakenCode::Fresh(_)) {
            Self::insert_tokens_in(&mut tx, tokens).await?;
        }
        tx.commit().await?;
        Ok(taken)
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_tokens(&self, tokens: &[Token]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        Self::insert_tokens_in(&mut tx, tokens).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        hash: &str,
        now: i64,
        grace_secs: i64,
        successors: &[Token],
        sealed_successor: &[u8],
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool.begin().await?;
        // First the locks a concurrent revocation takes exclusively before it
        // touches tokens: the identity row (set_identity_state,
        // delete_identity) and the grant (revoke_grant). A revocation that
        // starts while this rotation runs then waits for its commit, and its
        // token UPDATE, a later statement with a later snapshot, revokes the
        // successors too; one that came first leaves the token revoked, so the
        // UPDATE below matches nothing. Without these locks the successors,
        // invisible to the revocation's snapshot, would outlive it (SQLite's
        // single writer gives this order for free).
        let owner = sqlx::query(
            "SELECT grant_id, subject FROM tokens WHERE hash = $1 AND kind = 'refresh'",
        )
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(owner) = owner else {
            return Ok(Rotation::Invalid);
        };
        let grant_id: String = owner.try_get("grant_id")?;
        if let Some(subject) = owner.try_get::<Option<String>, _>("subject")? {
            sqlx::query("SELECT 1 FROM identities WHERE id = $1 FOR SHARE")
                .bind(subject)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))")
            .bind(GRANT_LOCKS)
            .bind(&grant_id)
            .execute(&mut *tx)
            .await?;
        // The conditional UPDATE is the compare-and-swap: a concurrent caller
        // waits on the row lock until this transaction ends, then finds
        // used_at set and changes nothing; its SELECT (a new snapshot under
        // READ COMMITTED) then sees the committed successor.
        let rotated = sqlx::query(sql::USE_REFRESH)
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
        let row = sqlx::query(
            "SELECT used_at, successor, revoked_at, expires_at FROM tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(Rotation::Invalid);
        };
        let seen = RotationSeen {
            grant_id,
            used_at: row.try_get("used_at")?,
            successor: row.try_get("successor")?,
            revoked_at: row.try_get("revoked_at")?,
            expires_at: row.try_get("expires_at")?,
        };
        Ok(seen.outcome(now, grace_secs))
    }

    async fn get_token(&self, kind: TokenKind, hash: &str, now: i64) -> StoreResult<Option<Token>> {
        let row = sqlx::query(sql::GET_TOKEN)
            .bind(hash)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| token_from(kind, &r)).transpose()
    }

    async fn get_token_with_identity(
        &self,
        kind: TokenKind,
        hash: &str,
        now: i64,
    ) -> StoreResult<Option<(Token, Option<Identity>)>> {
        sqlx::query(sql::GET_TOKEN_WITH_IDENTITY)
            .bind(hash)
            .bind(kind.as_str())
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| token_with_identity_from(kind, &r))
            .transpose()
    }

    async fn revoke_token(&self, hash: &str, now: i64) -> StoreResult<bool> {
        let n = sqlx::query(sql::REVOKE_TOKEN)
            .bind(hash)
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn revoke_grant(&self, grant_id: &str, now: i64) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        // Waits for rotations in flight within this grant (see rotate_refresh),
        // so their successors are committed and revoked here too.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(GRANT_LOCKS)
            .bind(grant_id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(sql::REVOKE_GRANT)
            .bind(grant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

impl PostgresStore {
    /// The single-use compare-and-swap of a code: the conditional UPDATE
    /// locks the row, so of two at once the second sees it used.
    async fn take_code_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        hash: &str,
        now: i64,
    ) -> StoreResult<TakenCode> {
        let taken = sqlx::query(sql::TAKE_CODE)
            .bind(hash)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = taken {
            return Ok(TakenCode::Fresh(Box::new(code_from(hash, &row)?)));
        }
        // Record the reuse; the caller revokes what the first use issued.
        let grant_id: Option<String> = sqlx::query_scalar(sql::MARK_CODE_REUSED)
            .bind(hash)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(match grant_id {
            Some(grant_id) => TakenCode::Reused { grant_id },
            None => TakenCode::Unknown,
        })
    }

    async fn insert_tokens_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
        tokens: &[Token],
    ) -> StoreResult<()> {
        for t in tokens {
            sqlx::query(sql::INSERT_TOKEN)
                .bind(&t.hash)
                .bind(t.kind.as_str())
                .bind(&t.grant_id)
                .bind(&t.client_id)
                .bind(&t.subject)
                .bind(join(&t.scope))
                .bind(&t.session_id)
                .bind(t.issued_at)
                .bind(t.expires_at)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn schema_current(&self) -> StoreResult<bool> {
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied == MIGRATOR.iter().map(|m| m.version).max())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() as u32,
        }
    }
}

#[async_trait]
impl Cleanup for PostgresStore {
    async fn delete_expired(&self, now: i64, sealed_before: i64, batch: i64) -> StoreResult<u64> {
        let mut deleted = 0;
        // Batches keep each write transaction short. SKIP LOCKED: rows a
        // request (or another node's cleaner) holds are left for the next
        // run, so the cleaner never waits on, or deadlocks with, anyone.
        const SQL: [&str; 8] = [
            "DELETE FROM tokens WHERE hash IN
             (SELECT hash FROM tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM authorization_codes WHERE hash IN
             (SELECT hash FROM authorization_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM flows WHERE id IN
             (SELECT id FROM flows WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM sessions WHERE id IN
             (SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM rate_limits WHERE key IN
             (SELECT key FROM rate_limits WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM budgets WHERE key IN
             (SELECT key FROM budgets WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            "DELETE FROM one_time_codes WHERE id IN
             (SELECT id FROM one_time_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
            // Sent and abandoned messages are kept a week for the operator.
            "DELETE FROM courier_messages WHERE id IN
             (SELECT id FROM courier_messages WHERE status <> 'queued' AND created_at < $1 - 604800
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
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
impl RateLimitStore for PostgresStore {
    async fn hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        count: i64,
    ) -> StoreResult<i64> {
        // One upsert: PostgreSQL guarantees ON CONFLICT DO UPDATE either
        // inserts or updates, even when nodes hit the same key at once, so
        // no hit is lost and none fails on the primary key.
        let row = sqlx::query(sql::RATE_LIMIT_HIT)
            .bind(key)
            .bind(window_start)
            .bind(expires_at)
            .bind(count)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("hits")?)
    }

    async fn get_budget(&self, key: &str) -> StoreResult<Option<(Budget, i64)>> {
        let row = sqlx::query(sql::GET_BUDGET)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(budget_from).transpose()
    }

    async fn put_budget(
        &self,
        key: &str,
        budget: &Budget,
        version: Option<i64>,
    ) -> StoreResult<bool> {
        let sql = match version {
            None => sql::INSERT_BUDGET,
            Some(_) => sql::UPDATE_BUDGET,
        };
        let done = sqlx::query(sql)
            .bind(key)
            .bind(version)
            .bind(budget.count)
            .bind(budget.window_start)
            .bind(budget.last_at)
            .bind(budget.locked_until)
            .bind(budget.expires_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
