//! What a grant issues, on SQLite: authorization codes (single use) and
//! access/refresh tokens (rotation, revocation).

use super::*;

pub(super) fn token_with_identity_in(
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

pub(super) fn insert_tokens_in(conn: &Connection, tokens: &[Token]) -> StoreResult<()> {
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
