//! SCIM listing in SQL: the filters real IdPs send, sorting and paging, connection
//! isolation, big groups, and a property test that the SQL translation of random filters
//! selects exactly what the in-memory evaluator (`scim::filter::matches`) selects — on both
//! engines.

mod idp_filters;
mod members;
mod property;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use idp_sync::domain::{ConnectionId, User};
use idp_sync::scim::Filter;
use idp_sync::store::{ScimListQuery, Store};
use std::sync::Arc;

/// A fixed instant, so dateTime filters can name times relative to it.
pub fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0)
        .single()
        .unwrap()
        .trunc_subsecs(6)
}

pub fn at(seconds: i64) -> DateTime<Utc> {
    base_time() + Duration::seconds(seconds)
}

pub fn user_of(connection: &str, user_name: &str, scim: serde_json::Value) -> User {
    let mut u = User::new(ConnectionId::new(connection), user_name, base_time());
    u.scim = scim;
    u
}

/// The ids a filter selects in `connection` (everything on one page).
pub async fn user_ids(store: &Arc<dyn Store>, connection: &str, filter: &str) -> Vec<String> {
    let mut q = ScimListQuery::new(ConnectionId::new(connection), 1000);
    q.filter = Some(Filter::parse(filter).unwrap());
    let page = store.scim_list_users(&q).await.unwrap();
    assert_eq!(page.total_results as usize, page.items.len(), "{filter}");
    let mut ids: Vec<String> = page.items.into_iter().map(|u| u.id.to_string()).collect();
    ids.sort();
    ids
}
