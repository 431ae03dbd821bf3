//! `GET /admin/v1/audit`: the audit log, newest first, in cursor pages; filter by user,
//! type and time. Records of deleted users stay readable here.

use super::users::{bad_query, store_error};
use super::{AdminClient, Page, limit};
use crate::domain::{AuditEvent, UserId};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::store::AuditQuery;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    user: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// RFC 3339; only events at or after it.
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let since = params
        .since
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::BadRequest {
                    code: "ADMIN-BAD-TIME",
                    message: format!(
                        "since must be an RFC 3339 time such as 2026-11-21T10:00:00Z, not {s:?}"
                    ),
                })
        })
        .transpose()?;
    let before_seq = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| ApiError::BadRequest {
                code: "ADMIN-BAD-CURSOR",
                message: "cursor must be a next_cursor value from a previous page".to_owned(),
            })
        })
        .transpose()?;
    let page_size = limit(params.limit);
    let query = AuditQuery {
        user: params.user.map(UserId::from),
        kind: params.kind,
        since,
        before_seq,
        limit: page_size,
    };
    let items = state.store.list_audit(&query).await.map_err(store_error)?;
    let next_cursor = (items.len() == page_size as usize)
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}
