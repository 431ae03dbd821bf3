//! `GET /admin/v1/organizations` (the configured organizations with their parents and how
//! many users each grants) and `GET /admin/v1/organizations/{slug}` (its members with role
//! and sources).

use super::AdminClient;
use super::users::store_error;
use crate::domain::OrgSlug;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub async fn list(
    admin: AdminClient,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let mut read = state.store.read().await.map_err(store_error)?;
    let mut items = Vec::new();
    for org in admin.config.policy.organizations.iter() {
        let members = read
            .grants_of_organization(&org.slug)
            .await
            .map_err(store_error)?
            .len();
        items.push(json!({
            "slug": org.slug,
            "name": org.name,
            "parent": org.parent,
            "members": members,
        }));
    }
    Ok(Json(json!({ "items": items })))
}

pub async fn show(
    admin: AdminClient,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let slug = OrgSlug::from(slug);
    let org = admin
        .config
        .policy
        .organizations
        .get(&slug)
        .ok_or(ApiError::NotFound)?;
    let mut read = state.store.read().await.map_err(store_error)?;
    let grants = read
        .grants_of_organization(&slug)
        .await
        .map_err(store_error)?;
    let mut members = Vec::with_capacity(grants.len());
    for grant in grants {
        let user = read.get_user(&grant.user_id).await.map_err(store_error)?;
        members.push(json!({
            "user_id": grant.user_id,
            "user_name": user.as_ref().map(|u| u.user_name.clone()),
            "connection": user.as_ref().map(|u| u.connection.clone()),
            "state": user.as_ref().map(|u| u.state),
            "role": grant.role,
            "sources": grant.sources,
        }));
    }
    Ok(Json(json!({
        "slug": org.slug,
        "name": org.name,
        "parent": org.parent,
        "suborganizations": admin.config.policy.organizations.descendants(&slug),
        "members": members,
    })))
}
