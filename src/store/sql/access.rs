//! Stored access: one `user_access` row per user (role, local groups, permissions, asset
//! types, role sources) and one `access_grants` row per organization with the mappings
//! and IdP groups it came from. Setting access writes only the grants that changed.

use super::{Conn, ts};
use crate::domain::{Access, OrgSlug, ResolvedAccess, RoleName, UserId};
use crate::store::error::StoreError;
use crate::store::rows::{AccessRow, GrantRow};
use crate::store::types::{Grant, OrganizationSources, StoredAccess};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::BTreeMap;

pub(super) async fn get(c: &mut Conn, user: &UserId) -> Result<Option<StoredAccess>, StoreError> {
    let row: Option<AccessRow> = sqlx::query_as(
        "SELECT role, local_groups, permissions, allow_asset_types, role_sources, capped_from, \
         updated_at FROM user_access WHERE user_id = $1",
    )
    .bind(user.as_str())
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let organization_sources: OrganizationSources = grants_of_user(c, user)
        .await?
        .into_iter()
        .map(|g| (g.organization, g.sources))
        .collect();
    let access = Access {
        role: RoleName::new(row.role),
        organizations: organization_sources.keys().cloned().collect(),
        groups: row.local_groups.0,
        permissions: row.permissions.0,
        allow_asset_types: row.allow_asset_types.0,
    };
    Ok(Some(StoredAccess {
        user_id: user.clone(),
        resolved: ResolvedAccess {
            access,
            organization_sources,
            role_sources: row.role_sources.0,
            capped_from: row.capped_from.map(RoleName::new),
        },
        updated_at: row.updated_at,
    }))
}

async fn grants_of_user(c: &mut Conn, user: &UserId) -> Result<Vec<Grant>, StoreError> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT user_id, organization, role, sources FROM access_grants WHERE user_id = $1",
    )
    .bind(user.as_str())
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

pub(super) async fn set(
    c: &mut Conn,
    user: &UserId,
    resolved: &ResolvedAccess,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let access = &resolved.access;
    sqlx::query(
        "INSERT INTO user_access (user_id, role, local_groups, permissions, allow_asset_types, \
         role_sources, capped_from, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, \
         local_groups = excluded.local_groups, permissions = excluded.permissions, \
         allow_asset_types = excluded.allow_asset_types, role_sources = excluded.role_sources, \
         capped_from = excluded.capped_from, updated_at = excluded.updated_at",
    )
    .bind(user.as_str())
    .bind(access.role.as_str())
    .bind(Json(&access.groups))
    .bind(Json(&access.permissions))
    .bind(Json(&access.allow_asset_types))
    .bind(Json(&resolved.role_sources))
    .bind(resolved.capped_from.as_ref().map(RoleName::as_str))
    .bind(ts(now))
    .execute(&mut *c)
    .await?;

    let mut existing: BTreeMap<OrgSlug, Grant> = grants_of_user(c, user)
        .await?
        .into_iter()
        .map(|g| (g.organization.clone(), g))
        .collect();
    let empty = Default::default();
    for organization in &access.organizations {
        let sources = resolved
            .organization_sources
            .get(organization)
            .unwrap_or(&empty);
        let unchanged = existing
            .remove(organization)
            .is_some_and(|g| g.role == access.role && &g.sources == sources);
        if unchanged {
            continue;
        }
        sqlx::query(
            "INSERT INTO access_grants (user_id, organization, role, sources) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, organization) \
             DO UPDATE SET role = excluded.role, sources = excluded.sources",
        )
        .bind(user.as_str())
        .bind(organization.as_str())
        .bind(access.role.as_str())
        .bind(Json(sources))
        .execute(&mut *c)
        .await?;
    }
    // What is left was granted before and is not any more.
    for organization in existing.keys() {
        sqlx::query("DELETE FROM access_grants WHERE user_id = $1 AND organization = $2")
            .bind(user.as_str())
            .bind(organization.as_str())
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

pub(super) async fn clear(c: &mut Conn, user: &UserId) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM access_grants WHERE user_id = $1")
        .bind(user.as_str())
        .execute(&mut *c)
        .await?;
    let done = sqlx::query("DELETE FROM user_access WHERE user_id = $1")
        .bind(user.as_str())
        .execute(c)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn grants_of_organization(
    c: &mut Conn,
    organization: &OrgSlug,
) -> Result<Vec<Grant>, StoreError> {
    let rows: Vec<GrantRow> = sqlx::query_as(
        "SELECT user_id, organization, role, sources FROM access_grants \
         WHERE organization = $1 ORDER BY user_id",
    )
    .bind(organization.as_str())
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(Grant::from).collect())
}

pub(super) async fn count_with_role(c: &mut Conn, role: &RoleName) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM user_access WHERE role = $1")
            .bind(role.as_str())
            .fetch_one(c)
            .await?,
    )
}
