//! Encodings both backends share: how lists, states and client origins sit
//! in columns. Nothing here talks to a database.

use crate::{Client, FlowState, IdentityState, Rotation, StoreError, StoreResult};

/// Space-delimited lists (scopes, amr) in one TEXT column.
pub(crate) fn join(list: &[String]) -> String {
    list.join(" ")
}

pub(crate) fn split(list: &str) -> Vec<String> {
    list.split_whitespace().map(str::to_owned).collect()
}

pub(crate) fn identity_state_from(state: &str) -> IdentityState {
    if state == "disabled" {
        IdentityState::Disabled
    } else {
        IdentityState::Active
    }
}

pub(crate) fn flow_state_from(state: &str) -> StoreResult<FlowState> {
    [
        FlowState::LoginPending,
        FlowState::LoginAccepted,
        FlowState::ConsentPending,
        FlowState::ConsentAccepted,
        FlowState::Done,
    ]
    .into_iter()
    .find(|s| s.as_str() == state)
    .ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown flow state {state}")))
}

/// The origins (RFC 6454 serialisation) of a client's redirect URIs;
/// private-use schemes have none.
pub(crate) fn client_origins(client: &Client) -> Vec<String> {
    let mut origins: Vec<String> = client
        .redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
        .map(|o| o.ascii_serialization())
        .collect();
    origins.sort();
    origins.dedup();
    origins
}

/// What a refresh token's row showed when its rotation changed nothing.
pub(crate) struct RotationSeen {
    pub grant_id: String,
    pub used_at: Option<i64>,
    pub successor: Option<Vec<u8>>,
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
}

impl RotationSeen {
    /// Why the token did not rotate: a replay inside the grace window gets
    /// the sealed successor, a later one is a reuse.
    pub(crate) fn outcome(self, now: i64, grace_secs: i64) -> Rotation {
        match (self.used_at, self.successor) {
            _ if self.revoked_at.is_some() || self.expires_at <= now => Rotation::Invalid,
            (Some(used), Some(sealed)) if now - used <= grace_secs => Rotation::Replayed {
                sealed_successor: sealed,
            },
            (Some(_), _) => Rotation::Reused {
                grant_id: self.grant_id,
            },
            (None, _) => Rotation::Invalid,
        }
    }
}
