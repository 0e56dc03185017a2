//! Login/consent flows and remembered consents on SQLite.

use super::*;

#[async_trait]
impl FlowStore for SqliteStore {
    async fn insert_flow(&self, f: &Flow) -> StoreResult<()> {
        let f = f.clone();
        let data = serde_json::to_string(&f)?;
        self.write(move |c| {
            exec(
                c,
                sql::INSERT_FLOW,
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
        self.read(|c| one(c, sql::get_flow(key), &[&hash, &now], |r| flow_from(r)))
    }

    async fn advance_flow(&self, f: &Flow, from: FlowState) -> StoreResult<bool> {
        let f = f.clone();
        let data = serde_json::to_string(&f)?;
        self.write(move |c| {
            let n = exec(
                c,
                sql::ADVANCE_FLOW,
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
                sql::UPSERT_CONSENT,
                &[&identity_id, &client_id, &scopes, &now],
            )?;
            Ok(())
        })
        .await
    }
}
