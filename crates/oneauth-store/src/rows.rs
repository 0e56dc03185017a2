//! Result rows to records, for both stores: the SQLite (rusqlite) and
//! PostgreSQL (sqlx) rows are read through one small trait, so each record
//! is mapped once. Nothing here runs a query.

use crate::common::*;
use crate::*;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

/// A value either driver can read from a column.
pub(crate) trait Column: Sized {
    fn from_pg(row: &PgRow, name: &str) -> StoreResult<Self>;
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self>;
}

impl<T> Column for T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    T: rusqlite::types::FromSql,
{
    fn from_pg(row: &PgRow, name: &str) -> StoreResult<Self> {
        Ok(row.try_get(name)?)
    }

    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> StoreResult<Self> {
        Ok(row.get(index)?)
    }
}

/// A result row, read by column name.
pub(crate) trait Columns {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T>;
}

impl Columns for PgRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        T::from_pg(self, name)
    }
}

/// A SQLite row with its statement's column names read once: rusqlite's
/// lookup by name asks SQLite for each column's name (an FFI call, `strlen`
/// and a UTF-8 check) until it finds the one, on every lookup, which made
/// mapping a wide row quadratic.
pub(crate) struct SqliteRow<'r> {
    row: &'r rusqlite::Row<'r>,
    names: Vec<&'r str>,
}

impl<'r> SqliteRow<'r> {
    pub(crate) fn new(row: &'r rusqlite::Row<'r>) -> Self {
        Self {
            row,
            names: row.as_ref().column_names(),
        }
    }

    /// The row itself, for reads by position.
    pub(crate) fn raw(&self) -> &rusqlite::Row<'r> {
        self.row
    }
}

impl Columns for SqliteRow<'_> {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        let index = self
            .names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| rusqlite::Error::InvalidColumnName(name.to_owned()))?;
        T::from_sqlite(self.row, index)
    }
}

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unknown {what} {value}"))
}

pub(crate) fn key_from(r: &impl Columns) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: r.col("kid")?,
        alg: r.col("alg")?,
        sealed_key: r.col("sealed_key")?,
        created_at: r.col("created_at")?,
    })
}

pub(crate) fn client_from(r: &impl Columns) -> StoreResult<Client> {
    let mut client: Client = serde_json::from_str(&r.col::<String>("metadata")?)?;
    client.secret_hash = r.col("secret_hash")?;
    client.created_at = r.col("created_at")?;
    client.updated_at = r.col("updated_at")?;
    Ok(client)
}

pub(crate) fn identity_from(r: &impl Columns) -> StoreResult<Identity> {
    Ok(Identity {
        id: r.col("id")?,
        traits: serde_json::from_str(&r.col::<String>("traits")?)?,
        state: identity_state_from(&r.col::<String>("state")?),
        password_hash: r.col("password_hash")?,
        created_at: r.col("created_at")?,
        updated_at: r.col("updated_at")?,
    })
}

pub(crate) fn session_from(r: &impl Columns) -> StoreResult<Session> {
    Ok(Session {
        id: r.col("id")?,
        token_hash: r.col("token_hash")?,
        identity_id: r.col("identity_id")?,
        authenticated_at: r.col("authenticated_at")?,
        amr: split(&r.col::<String>("amr")?),
        expires_at: r.col("expires_at")?,
        seen_from: SeenFrom {
            user_agent: r.col("user_agent")?,
            ip: r.col("ip")?,
        },
        last_used_at: r.col("last_used_at")?,
        second_factor_pending: r.col::<i64>("second_factor_pending")? != 0,
    })
}

pub(crate) fn flow_from(r: &impl Columns) -> StoreResult<Flow> {
    let mut flow: Flow = serde_json::from_str(&r.col::<String>("data")?)?;
    flow.login_challenge_hash = r.col("login_challenge_hash")?;
    flow.login_verifier_hash = r.col("login_verifier_hash")?;
    flow.consent_challenge_hash = r.col("consent_challenge_hash")?;
    flow.consent_verifier_hash = r.col("consent_verifier_hash")?;
    flow.state = flow_state_from(&r.col::<String>("state")?)?;
    flow.expires_at = r.col("expires_at")?;
    Ok(flow)
}

pub(crate) fn token_from(kind: TokenKind, r: &impl Columns) -> StoreResult<Token> {
    Ok(Token {
        hash: r.col("hash")?,
        kind,
        grant_id: r.col("grant_id")?,
        client_id: r.col("client_id")?,
        subject: r.col("subject")?,
        scope: split(&r.col::<String>("scope")?),
        session_id: r.col("session_id")?,
        issued_at: r.col("issued_at")?,
        expires_at: r.col("expires_at")?,
        used_at: r.col("used_at")?,
    })
}

/// A token row of [`sql::GET_TOKEN_WITH_IDENTITY`] and its identity, whose
/// columns are NULL when it has none.
pub(crate) fn token_with_identity_from(
    kind: TokenKind,
    r: &impl Columns,
) -> StoreResult<(Token, Option<Identity>)> {
    let identity = match r.col::<Option<String>>("id")? {
        Some(_) => Some(identity_from(r)?),
        None => None,
    };
    Ok((token_from(kind, r)?, identity))
}

/// An authorization code from its `data` (JSON) and `expires_at` columns.
pub(crate) fn code_from(hash: &str, r: &impl Columns) -> StoreResult<AuthorizationCode> {
    let mut code: AuthorizationCode = serde_json::from_str(&r.col::<String>("data")?)?;
    code.hash = hash.to_owned();
    code.expires_at = r.col("expires_at")?;
    Ok(code)
}

/// A budget and its version.
pub(crate) fn budget_from(r: &impl Columns) -> StoreResult<(Budget, i64)> {
    let budget = Budget {
        count: r.col("count")?,
        window_start: r.col("window_start")?,
        last_at: r.col("last_at")?,
        locked_until: r.col("locked_until")?,
        expires_at: r.col("expires_at")?,
    };
    Ok((budget, r.col("version")?))
}

pub(crate) fn one_time_code_from(r: &impl Columns) -> StoreResult<OneTimeCode> {
    let purpose: String = r.col("purpose")?;
    Ok(OneTimeCode {
        id: r.col("id")?,
        purpose: [
            CodePurpose::Login,
            CodePurpose::Verification,
            CodePurpose::Recovery,
        ]
        .into_iter()
        .find(|p| p.as_str() == purpose)
        .ok_or_else(|| unknown("code purpose", &purpose))?,
        address: r.col("address")?,
        identity_id: r.col("identity_id")?,
        code_hash: r.col("code_hash")?,
        attempts: r.col("attempts")?,
        created_at: r.col("created_at")?,
        expires_at: r.col("expires_at")?,
    })
}

pub(crate) fn message_from(r: &impl Columns) -> StoreResult<CourierMessage> {
    let channel: String = r.col("channel")?;
    let status: String = r.col("status")?;
    Ok(CourierMessage {
        id: r.col("id")?,
        channel: Channel::parse(&channel).ok_or_else(|| unknown("channel", &channel))?,
        recipient: r.col("recipient")?,
        template: r.col("template")?,
        sealed: r.col("sealed")?,
        status: MessageStatus::parse(&status).ok_or_else(|| unknown("status", &status))?,
        attempts: r.col("attempts")?,
        next_attempt_at: r.col("next_attempt_at")?,
        created_at: r.col("created_at")?,
        last_error: r.col("last_error")?,
    })
}

pub(crate) fn external_identity_from(r: &impl Columns) -> StoreResult<ExternalIdentity> {
    Ok(ExternalIdentity {
        provider: r.col("provider")?,
        subject: r.col("subject")?,
        identity_id: r.col("identity_id")?,
        created_at: r.col("created_at")?,
    })
}
