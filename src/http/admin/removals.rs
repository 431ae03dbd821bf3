//! Pending removals (DESIGN §3 "Mass-removal safety", `removal.grace`):
//! `GET /admin/v1/removals` lists them (and any config reload held as a mass removal);
//! `POST /admin/v1/removals/approve` and `/reject` decide them — Administrator tokens only.
//! Both go through [`crate::reconcile::removals`], the code path of
//! `idp-sync removals approve|reject`.

use super::users::{bad_query, store_error};
use super::{AdminClient, bad, limit, require_top_role};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::reconcile::removals::{self, ReloadDecisionError, Selection};
use crate::store::{HeldConfigStatus, PendingRemovalQuery, PendingRemovalStatus};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// pending (default), approved, rejected, obsolete, superseded.
    status: Option<String>,
    /// Only this user's.
    user: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let status = match params.status.as_deref() {
        None => PendingRemovalStatus::Pending,
        Some(s) => s.parse().map_err(|_| {
            bad(
                "ADMIN-BAD-STATUS",
                format!(
                    "status must be pending, approved, rejected, obsolete or superseded; not {s:?}"
                ),
            )
        })?,
    };
    let after_seq = params
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                bad(
                    "ADMIN-BAD-CURSOR",
                    "cursor must be a next_cursor value from a previous page",
                )
            })
        })
        .transpose()?;
    let page_size = limit(params.limit);
    let mut read = state.store.read().await.map_err(store_error)?;
    let items = read
        .list_pending_removals(&PendingRemovalQuery {
            status: Some(status),
            user: params.user.map(crate::domain::UserId::from),
            due_by: None,
            after_seq,
            limit: page_size,
        })
        .await
        .map_err(store_error)?;
    let held_reloads = read
        .list_held_configs(Some(HeldConfigStatus::Held))
        .await
        .map_err(store_error)?;
    let next_cursor = (items.len() == page_size as usize)
        .then(|| items.last().map(|r| r.seq.to_string()))
        .flatten();
    Ok(Json(json!({
        "items": items,
        "next_cursor": next_cursor,
        "held_reloads": held_reloads,
    })))
}

/// What to decide: pending removals by id, all of them, and/or the held config reload.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    all: bool,
    /// `true` for the newest held reload, or its fingerprint.
    #[serde(default)]
    reload: Option<ReloadSelection>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ReloadSelection {
    Newest(bool),
    Fingerprint(String),
}

pub async fn approve(
    admin: AdminClient,
    State(state): State<AppState>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(admin, state, body, true).await
}

pub async fn reject(
    admin: AdminClient,
    State(state): State<AppState>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    decide(admin, state, body, false).await
}

async fn decide(
    admin: AdminClient,
    state: AppState,
    body: Result<Json<DecisionRequest>, JsonRejection>,
    approve: bool,
) -> Result<Json<Value>, ApiError> {
    require_top_role(&admin, "decide pending removals")?;
    let Json(request) = body.map_err(|e| bad("ADMIN-BAD-BODY", e.body_text()))?;
    let selection = match (request.all, request.ids.is_empty()) {
        (true, true) => Some(Selection::All),
        (false, false) => Some(Selection::Ids(request.ids)),
        (false, true) => None,
        (true, false) => {
            return Err(bad("ADMIN-BAD-BODY", "give either ids or all, not both"));
        }
    };
    let reload = match request.reload {
        None | Some(ReloadSelection::Newest(false)) => None,
        Some(ReloadSelection::Newest(true)) => Some(None),
        Some(ReloadSelection::Fingerprint(f)) => Some(Some(f)),
    };
    if selection.is_none() && reload.is_none() {
        return Err(bad(
            "ADMIN-NOTHING-SELECTED",
            "say what to decide: \"ids\": [...], \"all\": true, and/or \"reload\": true",
        ));
    }
    let now = chrono::Utc::now();
    let by = admin.actor();

    let reload_result = match &reload {
        None => Value::Null,
        Some(fingerprint) => {
            match removals::decide_reload(
                state.store.as_ref(),
                fingerprint.as_deref(),
                approve,
                &by,
                now,
            )
            .await
            {
                Ok(held) => json!(held),
                // `all` also covers a held reload when there is one.
                Err(ReloadDecisionError::NoneHeld) if selection.is_some() => Value::Null,
                Err(ReloadDecisionError::NoneHeld) => {
                    return Err(ApiError::Conflict {
                        code: "ADMIN-NO-HELD-RELOAD",
                        message: "no config reload is held".to_owned(),
                    });
                }
                Err(ReloadDecisionError::Unknown(f)) => {
                    return Err(ApiError::Conflict {
                        code: "ADMIN-NO-HELD-RELOAD",
                        message: format!("no held config reload has the fingerprint {f}"),
                    });
                }
                Err(ReloadDecisionError::Store(e)) => return Err(store_error(e)),
            }
        }
    };
    if approve && !reload_result.is_null() {
        // This replica applies it now; the others when they poll.
        state.approvals.notify_one();
    }

    let decided = match &selection {
        None => removals::Decided::default(),
        Some(selection) if approve => {
            let (decided, events) =
                removals::approve(state.store.as_ref(), &admin.config, selection, &by, now)
                    .await
                    .map_err(store_error)?;
            if events > 0 {
                state.outbox.wake();
            }
            decided
        }
        Some(selection) => removals::reject(state.store.as_ref(), selection, &by, now)
            .await
            .map_err(store_error)?,
    };
    let mut body = json!(decided);
    body["reload"] = reload_result;
    Ok(Json(body))
}
