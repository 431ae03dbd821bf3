//! Manual invitations (connection `manual`): `POST /admin/v1/invitations` invites many
//! addresses at once with a role, organizations and local groups; `POST
//! /admin/v1/invitations/{id}/resend` sends a fresh link to the same address;
//! `POST /admin/v1/invitations/{id}/revoke` makes a link stop working; `GET
//! /admin/v1/invitations` lists everyone's invitations (filter by status and user).
//!
//! Rules of the application: at least one organization; no more than the role's
//! `max_organizations`; a token may give its own role or a lower one — a Manager token
//! cannot invite (or make) an Administrator, only an Administrator token can.

use super::users::{bad_query, store_error};
use super::{AdminClient, Page, limit};
use crate::domain::UserId;
use crate::domain::{
    Access, AuditEvent, Cause, ConnectionId, InvitationStatus, OrgSlug, ResolvedAccess, RoleName,
    User,
};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::reconcile::invitations;
use crate::reconcile::lifecycle::invite_manual;
use crate::store::InvitationQuery;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The most addresses one request may invite.
pub const MAX_EMAILS: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    emails: Vec<String>,
    role: String,
    organizations: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

pub async fn create(
    admin: AdminClient,
    State(state): State<AppState>,
    body: Result<Json<InviteRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(request) = body.map_err(|e| bad("ADMIN-BAD-BODY", e.body_text()))?;
    let config = admin.config.clone();
    let roles = &config.policy.roles;
    let role = RoleName::from(request.role.as_str());
    let Some(role_def) = roles.get(&role) else {
        return Err(bad(
            "ADMIN-UNKNOWN-ROLE",
            format!("unknown role {:?}", request.role),
        ));
    };
    if !roles.at_least(&admin.role, &role) {
        return Err(ApiError::Forbidden(format!(
            "a {} token cannot invite anyone as {role}: only a token of that role or higher can",
            admin.role
        )));
    }
    if request.organizations.is_empty() {
        return Err(bad(
            "ADMIN-NO-ORGANIZATION",
            "a user needs at least one organization to be invited",
        ));
    }
    let mut organizations = BTreeSet::new();
    for slug in &request.organizations {
        let slug = OrgSlug::from(slug.as_str());
        if !config.policy.organizations.contains(&slug) {
            return Err(bad(
                "ADMIN-UNKNOWN-ORGANIZATION",
                format!("unknown organization {slug:?}"),
            ));
        }
        organizations.insert(slug);
    }
    if let Some(limit) = role_def.max_organizations
        && organizations.len() > limit as usize
    {
        return Err(bad(
            "ADMIN-TOO-MANY-ORGANIZATIONS",
            format!(
                "role {role} allows at most {limit} organizations, not {}",
                organizations.len()
            ),
        ));
    }
    if request.emails.is_empty() || request.emails.len() > MAX_EMAILS {
        return Err(bad(
            "ADMIN-BAD-EMAILS",
            format!("give between 1 and {MAX_EMAILS} addresses"),
        ));
    }
    let mut emails = Vec::new();
    let mut seen = BTreeSet::new();
    for email in &request.emails {
        let email = email.trim();
        if !plausible_email(email) {
            return Err(bad(
                "ADMIN-BAD-EMAIL",
                format!("{email:?} is not an email address"),
            ));
        }
        if seen.insert(email.to_lowercase()) {
            emails.push(email.to_owned());
        }
    }

    let access = Access {
        role,
        organizations,
        groups: request.groups.into_iter().collect(),
        permissions: request.permissions.into_iter().collect(),
        allow_asset_types: BTreeSet::new(),
    };
    let resolved = ResolvedAccess {
        access: access.clone(),
        organization_sources: Default::default(),
        role_sources: Default::default(),
        capped_from: None,
    };
    let now = chrono::Utc::now();
    let cause = Cause::Admin {
        token: admin.name.clone(),
    };
    let manual = ConnectionId::manual();
    let mut invited = Vec::new();
    let mut skipped = Vec::new();
    let mut tx = state.store.begin().await.map_err(store_error)?;
    for email in emails {
        if tx
            .find_user_by_user_name(&manual, &email)
            .await
            .map_err(store_error)?
            .is_some()
        {
            skipped.push(json!({ "email": email, "reason": "already invited; resend or revoke its invitation" }));
            continue;
        }
        let mut user = User::new(manual.clone(), email.clone(), now);
        user.email = Some(email.clone());
        tx.create_user(&user).await.map_err(store_error)?;
        tx.set_access(&user.id, &resolved, now)
            .await
            .map_err(store_error)?;
        invite_manual(
            tx.as_mut(),
            &config,
            &user,
            &access,
            &admin.actor(),
            &cause,
            now,
        )
        .await
        .map_err(store_error)?;
        let invitation = tx
            .list_invitations(&user.id)
            .await
            .map_err(store_error)?
            .into_iter()
            .next()
            .map(|i| i.id);
        invited.push(json!({ "email": email, "user_id": user.id, "invitation_id": invitation }));
    }
    let detail = json!({ "role": access.role, "organizations": access.organizations, "invited": invited.len(), "skipped": skipped.len() });
    tx.append_audit(&AuditEvent::new("admin.invited", admin.actor(), now).with_detail(detail))
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    state.outbox.wake();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "invited": invited, "skipped": skipped })),
    ))
}

pub async fn resend(
    admin: AdminClient,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let cause = Cause::Admin {
        token: admin.name.clone(),
    };
    let now = chrono::Utc::now();
    let new = invitations::resend(
        state.store.as_ref(),
        &admin.config,
        &id,
        &admin.actor(),
        &cause,
        now,
    )
    .await
    .map_err(invitation_error)?;
    state.outbox.wake();
    Ok(Json(
        json!({ "invitation_id": new.id, "email": new.email, "expires_at": new.expires_at, "replaces": id }),
    ))
}

pub async fn revoke(
    admin: AdminClient,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    invitations::revoke(
        state.store.as_ref(),
        &id,
        &admin.actor(),
        chrono::Utc::now(),
    )
    .await
    .map_err(invitation_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    /// pending, accepted, expired or revoked.
    status: Option<String>,
    user: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

/// `GET /admin/v1/invitations`: everyone's invitations, newest first.
pub async fn list(
    _admin: AdminClient,
    State(state): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Page<Value>>, ApiError> {
    let Query(params) = params.map_err(bad_query)?;
    let wanted = params
        .status
        .as_deref()
        .map(|s| {
            s.parse::<InvitationStatus>().map_err(|_| {
                bad(
                    "ADMIN-BAD-STATUS",
                    format!("status must be pending, accepted, expired or revoked; not {s:?}"),
                )
            })
        })
        .transpose()?;
    let before = params
        .cursor
        .as_deref()
        .map(|c| {
            c.split_once('|')
                .and_then(|(at, id)| {
                    chrono::DateTime::parse_from_rfc3339(at)
                        .ok()
                        .map(|at| (at.with_timezone(&chrono::Utc), id.to_owned()))
                })
                .ok_or_else(|| {
                    bad(
                        "ADMIN-BAD-CURSOR",
                        "cursor must be a next_cursor value from a previous page",
                    )
                })
        })
        .transpose()?;
    let page_size = limit(params.limit);
    // An expired invitation is stored as pending: ask the store for pending ones and
    // tell them apart by their expiry.
    let stored = match wanted {
        Some(InvitationStatus::Expired) => Some(InvitationStatus::Pending),
        other => other,
    };
    let query = InvitationQuery {
        status: stored,
        user: params.user.map(UserId::from),
        before,
        limit: page_size,
    };
    let mut read = state.store.read().await.map_err(store_error)?;
    let rows = read
        .list_all_invitations(&query)
        .await
        .map_err(store_error)?;
    let next_cursor = (rows.len() == page_size as usize)
        .then(|| {
            rows.last()
                .map(|i| format!("{}|{}", i.created_at.to_rfc3339(), i.id))
        })
        .flatten();
    let now = chrono::Utc::now();
    let items = rows
        .iter()
        .filter(|i| wanted.is_none_or(|w| i.effective_status(now) == w))
        .map(|i| invitations::invitation_json(i, now))
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

fn invitation_error(e: invitations::InvitationError) -> ApiError {
    match e {
        invitations::InvitationError::NotFound(_) => ApiError::NotFound,
        invitations::InvitationError::Closed(message) => ApiError::Conflict {
            code: "ADMIN-INVITATION-CLOSED",
            message,
        },
        invitations::InvitationError::Store(e) => store_error(e),
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

/// One `@`, something on each side, no spaces: enough to refuse typos, not a validator.
fn plausible_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !text.chars().any(char::is_whitespace)
        }
        None => false,
    }
}
