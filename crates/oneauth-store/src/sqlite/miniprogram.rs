//! Mini-program storage on SQLite; the SQL is shared with PostgreSQL.

use super::{SqliteStore, exec, one};
use crate::miniprogram::sql;
use crate::rows::Columns as _;
use crate::*;

#[async_trait]
impl MiniProgramStore for SqliteStore {
    async fn get_platform_token(&self, key: &str, now: i64) -> StoreResult<Option<Vec<u8>>> {
        self.read(|c| {
            one(c, sql::GET_PLATFORM_TOKEN, &[&key, &now], |r| {
                r.col("sealed")
            })
        })
    }

    async fn put_platform_token(
        &self,
        key: &str,
        sealed: &[u8],
        expires_at: i64,
    ) -> StoreResult<()> {
        let (key, sealed) = (key.to_owned(), sealed.to_vec());
        self.write(move |c| {
            exec(c, sql::PUT_PLATFORM_TOKEN, &[&key, &sealed, &expires_at])?;
            Ok(())
        })
        .await
    }

    async fn merge_identity(&self, from: &str, into: &str) -> StoreResult<bool> {
        let (from, into) = (from.to_owned(), into.to_owned());
        // A write runs in a savepoint of its own: the links move and the
        // identity goes together or not at all.
        self.write(move |c| {
            exec(c, sql::MOVE_EXTERNAL_IDENTITIES, &[&from, &into])?;
            exec(c, "DELETE FROM tokens WHERE subject = $1", &[&from])?;
            Ok(exec(c, "DELETE FROM identities WHERE id = $1", &[&from])? == 1)
        })
        .await
    }
}
