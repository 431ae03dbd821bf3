//! SCIM end to end, on both engines: the request sequences Okta, Entra ID and JumpCloud send
//! (kept as fixtures, from their public SCIM guides), protocol behaviour (errors, ETags,
//! discovery, paging, bulk), and membership under concurrency. Assertions check the stored
//! state through the store, not only status codes.

mod conformance;
mod entra;
mod jumpcloud;
mod okta;
mod protocol;

use crate::support::app::TestApp;
use idp_sync::domain::{GroupId, UserId};
use serde_json::Value;

/// The member ids of a group, read from the database.
pub async fn members(app: &TestApp, group: &str) -> Vec<String> {
    let mut read = app.db.store.read().await.expect("read");
    let mut ids: Vec<String> = read
        .list_group_members(&GroupId::from(group), None, 10_000)
        .await
        .expect("members")
        .into_iter()
        .map(UserId::into_string)
        .collect();
    ids.sort();
    ids
}

/// The organizations a user's stored access grants (empty when none).
pub async fn organizations(app: &TestApp, user: &str) -> Vec<String> {
    app.db
        .store
        .get_access(&UserId::from(user))
        .await
        .expect("access")
        .map(|a| {
            a.access()
                .organizations
                .iter()
                .map(|o| o.to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}
