//! `GET /admin/v1/conflicts`: users whose mappings grant access that breaks a rule (e.g. a
//! Lite user over `max_organizations`), with the recorded conflict and the access they kept.

use super::users::{bad_query, store_error, user_json};
use super::{AdminClient, Page, limit};
use crate::domain::UserId;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct ListParams {
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page<Value>>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let page_size = limit(params.limit);
    let after = params.cursor.map(UserId::from);
    let mut read = state.store.read().await.map_err(store_error)?;
    let users = read
        .list_conflicted_users(after.as_ref(), page_size)
        .await
        .map_err(store_error)?;
    let next_cursor = (users.len() == page_size as usize)
        .then(|| users.last().map(|u| u.id.to_string()))
        .flatten();
    let mut items = Vec::with_capacity(users.len());
    for user in users {
        let access = read.get_access(&user.id).await.map_err(store_error)?;
        let mut item = user_json(&user, access.as_ref());
        item["conflict"] = serde_json::json!(user.conflict);
        items.push(item);
    }
    Ok(Json(Page { items, next_cursor }))
}
