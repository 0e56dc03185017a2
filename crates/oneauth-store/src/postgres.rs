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

mod cleanup;
mod clients;
mod codes;
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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
