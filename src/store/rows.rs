//! Row shapes as the database returns them, and their conversion into domain entities.
//!
//! `#[derive(sqlx::FromRow)]` is generic over the row type, so these structs serve both
//! engines. Enums are stored as their `as_str()` names and checked on the way out: a
//! name this build does not know is a [`StoreError::Corrupt`], never a panic.

use super::error::StoreError;
use super::types::{Delivery, Grant, StoredOutboxEvent};
use crate::domain::{
    Access, AuditEvent, ConnectionId, GrantSource, GroupId, IdpGroup, Invitation, OrgSlug,
    OutboxEvent, RoleName, Session, SsoLogin, User, UserId,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeSet;

fn parse<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::corrupt(format!("unknown {what} {value:?}")))
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    connection: String,
    user_name: String,
    external_id: Option<String>,
    sso_subject: Option<String>,
    email: Option<String>,
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    active: bool,
    state: String,
    accepted_at: Option<DateTime<Utc>>,
    conflict: Option<Json<Value>>,
    scim: Json<Value>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::new(r.id),
            connection: ConnectionId::new(r.connection),
            user_name: r.user_name,
            external_id: r.external_id,
            sso_subject: r.sso_subject,
            email: r.email,
            display_name: r.display_name,
            given_name: r.given_name,
            family_name: r.family_name,
            active: r.active,
            state: parse("user state", &r.state)?,
            accepted_at: r.accepted_at,
            conflict: r
                .conflict
                .map(|Json(v)| serde_json::from_value(v))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("users.conflict: {e}")))?,
            scim: r.scim.0,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// A user with its groups as the `USER_GROUPS_JSON` column of the engine writes them:
/// `[[id, displayName], …]`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserWithGroupsRow {
    #[sqlx(flatten)]
    user: UserRow,
    groups: String,
}

impl TryFrom<UserWithGroupsRow> for (User, Vec<(GroupId, String)>) {
    type Error = StoreError;
    fn try_from(r: UserWithGroupsRow) -> Result<Self, StoreError> {
        let groups: Vec<(String, String)> = serde_json::from_str(&r.groups)
            .map_err(|e| StoreError::Corrupt(format!("a user's groups: {e}")))?;
        Ok((
            User::try_from(r.user)?,
            groups
                .into_iter()
                .map(|(id, name)| (GroupId::new(id), name))
                .collect(),
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct GroupRow {
    id: String,
    connection: String,
    display_name: String,
    external_id: Option<String>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<GroupRow> for IdpGroup {
    fn from(r: GroupRow) -> Self {
        IdpGroup {
            id: GroupId::new(r.id),
            connection: ConnectionId::new(r.connection),
            display_name: r.display_name,
            external_id: r.external_id,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The per-user part of stored access; the organizations are [`GrantRow`]s.
#[derive(sqlx::FromRow)]
pub(crate) struct AccessRow {
    pub role: String,
    pub local_groups: Json<BTreeSet<String>>,
    pub permissions: Json<BTreeSet<String>>,
    pub allow_asset_types: Json<BTreeSet<String>>,
    pub role_sources: Json<BTreeSet<GrantSource>>,
    pub capped_from: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct GrantRow {
    pub user_id: String,
    pub organization: String,
    pub role: String,
    pub sources: Json<BTreeSet<GrantSource>>,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Grant {
            user_id: UserId::new(r.user_id),
            organization: OrgSlug::new(r.organization),
            role: RoleName::new(r.role),
            sources: r.sources.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: String,
    user_id: String,
    token_hash: String,
    email: String,
    invited_by: String,
    access: Json<Access>,
    status: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    renewed_from: Option<String>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = StoreError;
    fn try_from(r: InvitationRow) -> Result<Self, StoreError> {
        Ok(Invitation {
            id: r.id,
            user_id: UserId::new(r.user_id),
            token_hash: r.token_hash,
            email: r.email,
            invited_by: r.invited_by,
            access: r.access.0,
            status: parse("invitation status", &r.status)?,
            created_at: r.created_at,
            expires_at: r.expires_at,
            renewed_from: r.renewed_from,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    id_hash: String,
    user_id: String,
    connection: String,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<SessionRow> for Session {
    fn from(r: SessionRow) -> Self {
        Session {
            id_hash: r.id_hash,
            user_id: UserId::new(r.user_id),
            connection: ConnectionId::new(r.connection),
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SsoLoginRow {
    login_key: String,
    connection: String,
    browser_hash: String,
    return_to: String,
    nonce: Option<String>,
    pkce_verifier: Option<String>,
    invitation_id: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl From<SsoLoginRow> for SsoLogin {
    fn from(r: SsoLoginRow) -> Self {
        SsoLogin {
            key: r.login_key,
            connection: ConnectionId::new(r.connection),
            browser_hash: r.browser_hash,
            return_to: r.return_to,
            nonce: r.nonce,
            pkce_verifier: r.pkce_verifier,
            invitation_id: r.invitation_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    occurred_at: DateTime<Utc>,
    kind: String,
    actor: String,
    connection: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    detail: Json<Value>,
}

impl From<AuditRow> for AuditEvent {
    fn from(r: AuditRow) -> Self {
        AuditEvent {
            seq: r.seq,
            occurred_at: r.occurred_at,
            kind: r.kind,
            actor: r.actor,
            connection: r.connection.map(ConnectionId::new),
            user_id: r.user_id.map(UserId::new),
            user_name: r.user_name,
            detail: r.detail.0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutboxRow {
    seq: i64,
    id: String,
    event_type: String,
    user_id: Option<String>,
    occurred_at: DateTime<Utc>,
    payload: Json<Value>,
}

impl TryFrom<OutboxRow> for StoredOutboxEvent {
    type Error = StoreError;
    fn try_from(r: OutboxRow) -> Result<Self, StoreError> {
        Ok(StoredOutboxEvent {
            seq: r.seq,
            event: OutboxEvent {
                id: r.id,
                event_type: parse("event type", &r.event_type)?,
                user_id: r.user_id.map(UserId::new),
                occurred_at: r.occurred_at,
                payload: r.payload.0,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    event_id: String,
    destination: String,
    status: String,
    attempts: i64,
    next_attempt_at: DateTime<Utc>,
    claimed_until: Option<DateTime<Utc>>,
    last_error: Option<String>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self, StoreError> {
        Ok(Delivery {
            event_id: r.event_id,
            destination: r.destination,
            status: parse("delivery status", &r.status)?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            claimed_until: r.claimed_until,
            last_error: r.last_error,
            delivered_at: r.delivered_at,
        })
    }
}

/// A due delivery joined with its event, as the claim query returns it.
#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow {
    #[sqlx(flatten)]
    pub delivery: DeliveryRow,
    #[sqlx(flatten)]
    pub event: OutboxRow,
    pub secret: Option<sqlx::types::Json<serde_json::Value>>,
    pub attempt_started_at: Option<DateTime<Utc>>,
    pub revived_at: Option<DateTime<Utc>>,
}
