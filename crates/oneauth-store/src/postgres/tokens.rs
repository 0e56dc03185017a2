//! What a grant issues, on PostgreSQL: authorization codes (single use)
//! and access/refresh tokens (rotation, revocation, per-grant locks).

use super::*;

/// Key space of the per-grant advisory locks (first key of the two-key form,
/// the second being `hashtext(grant_id)`). Two-key locks never collide with
/// sqlx's one-key migration lock; a hash collision between grants only makes
/// them wait for each other.
const GRANT_LOCKS: i32 = 0x4f41_0001;

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

    pub(super) async fn insert_tokens_in(
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
