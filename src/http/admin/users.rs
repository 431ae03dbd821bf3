//! `GET /admin/v1/users` (filter by state, connection, organization; cursor pages) and
//! `GET /admin/v1/users/{id}`: each user with their effective access and where every part
//! of it comes from ("Editor on acme — from mapping 3 via IdP group Engineering").
//! `POST /admin/v1/users/{id}/accept`: an administrator marks an invited user's
//! invitation accepted (someone who cannot sign in through SSO yet, or was onboarded by
//! hand); the same change as a first sign-in: active, `user.activated`.

use super::{AdminClient, Page, limit};
use crate::domain::{ConnectionId, OrgSlug, User, UserId, UserState};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::store::{StoredAccess, UserQuery};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct ListParams {
    state: Option<String>,
    connection: Option<String>,
    organization: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page<Value>>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let user_state = params
        .state
        .as_deref()
        .map(|s| {
            s.parse::<UserState>().map_err(|_| ApiError::BadRequest {
                code: "ADMIN-BAD-STATE",
                message: format!("state must be one of provisioned, invited, active, suspended, removed; not {s:?}"),
            })
        })
        .transpose()?;
    let page_size = limit(params.limit);
    let query = UserQuery {
        connection: params.connection.map(ConnectionId::from),
        state: user_state,
        organization: params.organization.map(OrgSlug::from),
        after: params.cursor.map(UserId::from),
        limit: page_size,
    };
    let mut read = state.store.read().await.map_err(store_error)?;
    let users = read.list_users(&query).await.map_err(store_error)?;
    let next_cursor = (users.len() == page_size as usize)
        .then(|| users.last().map(|u| u.id.to_string()))
        .flatten();
    let mut items = Vec::with_capacity(users.len());
    for user in users {
        let access = read.get_access(&user.id).await.map_err(store_error)?;
        items.push(user_json(&user, access.as_ref()));
    }
    Ok(Json(Page { items, next_cursor }))
}

pub async fn show(
    _admin: AdminClient,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = UserId::from(id);
    let mut read = state.store.read().await.map_err(store_error)?;
    let user = read
        .get_user(&id)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::NotFound)?;
    let access = read.get_access(&id).await.map_err(store_error)?;
    let groups = read.groups_of_user(&id).await.map_err(store_error)?;
    let invitations = read.list_invitations(&id).await.map_err(store_error)?;
    let now = chrono::Utc::now();
    let mut body = user_json(&user, access.as_ref());
    body["idp_groups"] = json!(groups);
    body["invitations"] = invitations
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "email": i.email,
                "invited_by": i.invited_by,
                "status": i.effective_status(now).as_str(),
                "created_at": i.created_at,
                "expires_at": i.expires_at,
                "renewed_from": i.renewed_from,
            })
        })
        .collect();
    Ok(Json(body))
}

pub async fn accept(
    admin: AdminClient,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = UserId::from(id);
    let now = chrono::Utc::now();
    let cause = crate::domain::Cause::Admin {
        token: admin.name.clone(),
    };
    let mut tx = state.store.begin().await.map_err(store_error)?;
    let user = tx
        .get_user_for_update(&id)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::NotFound)?;
    if user.state != UserState::Invited {
        return Err(ApiError::Conflict {
            code: "NOT-INVITED",
            message: format!(
                "only an invited user can accept; this one is {}",
                user.state.as_str()
            ),
        });
    }
    let (user, events) =
        crate::reconcile::lifecycle::accept(tx.as_mut(), &admin.config, &user, &cause, now)
            .await
            .map_err(store_error)?;
    let access = tx.get_access(&id).await.map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    if events > 0 {
        state.outbox.wake();
    }
    Ok(Json(user_json(&user, access.as_ref())))
}

/// A user as the admin API shows it: the event shape of DESIGN §6 plus the sources.
pub fn user_json(user: &User, access: Option<&StoredAccess>) -> Value {
    json!({
        "id": user.id,
        "connection": user.connection,
        "user_name": user.user_name,
        "email": user.email,
        "display_name": user.event_display_name(),
        "state": user.state,
        "active": user.active,
        "external_id": user.external_id,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "access": access.map(StoredAccess::access),
        "sources": access.map(sources_json),
    })
}

fn sources_json(stored: &StoredAccess) -> Value {
    let resolved = &stored.resolved;
    let role = &resolved.access.role;
    let organizations: serde_json::Map<String, Value> = resolved
        .organization_sources
        .iter()
        .map(|(org, sources)| {
            let list: Vec<Value> = sources
                .iter()
                .map(|s| {
                    json!({
                        "mapping": s.mapping,
                        "idp_group": s.idp_group,
                        "description": format!("{role} on {org} — from mapping {} via IdP group {}", s.mapping, s.idp_group),
                    })
                })
                .collect();
            (org.to_string(), Value::Array(list))
        })
        .collect();
    json!({
        "role": resolved.role_sources,
        "capped_from": resolved.capped_from,
        "organizations": organizations,
    })
}

pub(super) fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest {
        code: "ADMIN-BAD-QUERY",
        message: rejection.body_text(),
    }
}

pub(super) fn store_error(e: crate::store::StoreError) -> ApiError {
    if e.is_busy() {
        ApiError::Unavailable("the database is busy; retry".to_owned())
    } else {
        ApiError::Internal(e.to_string())
    }
}
