//! Login/consent flows and remembered consents on PostgreSQL.

use super::*;

#[async_trait]
impl FlowStore for PostgresStore {
    async fn insert_flow(&self, f: &Flow) -> StoreResult<()> {
        sqlx::query(sql::INSERT_FLOW)
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
        sqlx::query(sql::get_flow(key))
            .bind(hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(flow_from)
            .transpose()
    }

    async fn advance_flow(&self, f: &Flow, from: FlowState) -> StoreResult<bool> {
        let n = sqlx::query(sql::ADVANCE_FLOW)
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
        sqlx::query(sql::UPSERT_CONSENT)
            .bind(identity_id)
            .bind(client_id)
            .bind(join(scopes))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
