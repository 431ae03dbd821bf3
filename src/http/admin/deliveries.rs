//! Deliveries of outbox events: `GET /admin/v1/deliveries?state=pending|failed|dead|delivered`
//! lists them (oldest event first, cursor pages); `POST
//! /admin/v1/deliveries/{event_id}/{destination}/retry` revives one dead letter and `POST
//! /admin/v1/deliveries/retry` many, both through [`outbox::retry_dead`] (a fresh
//! `max_age`, due at once; invitation emails are refused — resend the invitation).

use super::users::{bad_query, store_error};
use super::{AdminClient, Page, bad, limit};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::outbox::{self, OutboxError};
use crate::store::{DeliveryListing, DeliveryQuery, DeliveryState};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// pending (never attempted yet, or waiting its first attempt), failed (pending after
    /// a failed attempt), dead, delivered; default dead.
    state: Option<String>,
    destination: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page<Value>>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let delivery_state = match params.state.as_deref() {
        None => DeliveryState::Dead,
        Some(s) => s.parse().map_err(|_| {
            bad(
                "ADMIN-BAD-STATE",
                format!("state must be pending, failed, dead or delivered; not {s:?}"),
            )
        })?,
    };
    let after = params
        .cursor
        .as_deref()
        .map(|c| {
            c.split_once(':')
                .and_then(|(seq, dest)| seq.parse::<i64>().ok().map(|s| (s, dest.to_owned())))
                .ok_or_else(|| {
                    bad(
                        "ADMIN-BAD-CURSOR",
                        "cursor must be a next_cursor value from a previous page",
                    )
                })
        })
        .transpose()?;
    let page_size = limit(params.limit);
    let query = DeliveryQuery {
        state: delivery_state,
        destination: params.destination,
        after,
        limit: page_size,
    };
    let rows = state
        .store
        .read()
        .await
        .map_err(store_error)?
        .list_deliveries_in_state(&query)
        .await
        .map_err(store_error)?;
    let next_cursor = (rows.len() == page_size as usize)
        .then(|| {
            rows.last()
                .map(|r| format!("{}:{}", r.seq, r.delivery.destination))
        })
        .flatten();
    let items = rows.iter().map(delivery_json).collect();
    Ok(Json(Page { items, next_cursor }))
}

/// A delivery as the admin API and the CLI show it.
pub fn delivery_json(r: &DeliveryListing) -> Value {
    let d = &r.delivery;
    let state = match d.status {
        crate::store::DeliveryStatus::Pending if d.last_error.is_some() => "failed",
        other => other.as_str(),
    };
    json!({
        "event_id": d.event_id,
        "event_type": r.event_type,
        "user_id": r.user_id,
        "occurred_at": r.occurred_at,
        "destination": d.destination,
        "state": state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
        "revived_at": r.revived_at,
    })
}

pub async fn retry_one(
    admin: AdminClient,
    State(state): State<AppState>,
    Path((event_id, destination)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    outbox::retry_dead(
        state.store.as_ref(),
        &event_id,
        &destination,
        chrono::Utc::now(),
    )
    .await
    .map_err(retry_error)?;
    audit_retry(&state, &admin, &[(event_id.clone(), destination.clone())]).await?;
    state.outbox.wake();
    Ok(Json(
        json!({ "event_id": event_id, "destination": destination, "state": "pending" }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// These dead letters…
    #[serde(default)]
    deliveries: Vec<DeliveryKey>,
    /// …or every dead letter (of `destination`, when given).
    #[serde(default)]
    all_dead: bool,
    destination: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryKey {
    event_id: String,
    destination: String,
}

/// The most dead letters one bulk retry revives.
const MAX_BULK: u32 = 1_000;

pub async fn retry_many(
    admin: AdminClient,
    State(state): State<AppState>,
    body: Result<Json<RetryRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = body.map_err(|e| bad("ADMIN-BAD-BODY", e.body_text()))?;
    let keys: Vec<(String, String)> = if request.all_dead {
        if !request.deliveries.is_empty() {
            return Err(bad(
                "ADMIN-BAD-BODY",
                "give either deliveries or all_dead, not both",
            ));
        }
        let query = DeliveryQuery {
            state: DeliveryState::Dead,
            destination: request.destination.clone(),
            after: None,
            limit: MAX_BULK,
        };
        state
            .store
            .read()
            .await
            .map_err(store_error)?
            .list_deliveries_in_state(&query)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|r| (r.delivery.event_id, r.delivery.destination))
            .collect()
    } else {
        if request.deliveries.is_empty() || request.deliveries.len() > MAX_BULK as usize {
            return Err(bad(
                "ADMIN-NOTHING-SELECTED",
                format!("give between 1 and {MAX_BULK} deliveries, or \"all_dead\": true"),
            ));
        }
        request
            .deliveries
            .into_iter()
            .map(|k| (k.event_id, k.destination))
            .collect()
    };
    let now = chrono::Utc::now();
    let mut retried = Vec::new();
    let mut refused = Vec::new();
    for (event_id, destination) in keys {
        match outbox::retry_dead(state.store.as_ref(), &event_id, &destination, now).await {
            Ok(()) => retried.push((event_id, destination)),
            Err(OutboxError::Store(e)) => return Err(store_error(e)),
            Err(e) => {
                let error = retry_error(e);
                refused.push(json!({
                    "event_id": event_id,
                    "destination": destination,
                    "error": { "code": error.code(), "message": error.to_string() },
                }));
            }
        }
    }
    audit_retry(&state, &admin, &retried).await?;
    if !retried.is_empty() {
        state.outbox.wake();
    }
    let retried: Vec<Value> = retried
        .into_iter()
        .map(|(e, d)| json!({ "event_id": e, "destination": d }))
        .collect();
    Ok(Json(json!({ "retried": retried, "refused": refused })))
}

async fn audit_retry(
    state: &AppState,
    admin: &AdminClient,
    retried: &[(String, String)],
) -> Result<(), ApiError> {
    if retried.is_empty() {
        return Ok(());
    }
    let list: Vec<Value> = retried
        .iter()
        .map(|(e, d)| json!({ "event_id": e, "destination": d }))
        .collect();
    let event =
        crate::domain::AuditEvent::new("delivery.retried", admin.actor(), chrono::Utc::now())
            .with_detail(json!({ "deliveries": list }));
    state
        .store
        .append_audit(&event)
        .await
        .map(|_| ())
        .map_err(store_error)
}

pub(super) fn retry_error(e: OutboxError) -> ApiError {
    match e {
        OutboxError::NotFound { .. } => ApiError::NotFound,
        OutboxError::NotDead { .. } => ApiError::Conflict {
            code: "ADMIN-DELIVERY-NOT-DEAD",
            message: e.to_string(),
        },
        OutboxError::EmailNotRetryable => ApiError::Conflict {
            code: "ADMIN-EMAIL-NOT-RETRYABLE",
            message: e.to_string(),
        },
        OutboxError::Store(e) => store_error(e),
    }
}
