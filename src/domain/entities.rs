//! Directory and lifecycle entities: users, IdP groups, invitations, sessions, audit and
//! outbox events. These are the rows the store keeps; their shapes are shared by every
//! protocol front end.

use super::access::Access;
use super::ids::{ConnectionId, GroupId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a user stands in the lifecycle (DESIGN §3, §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// Known to idp-sync (provisioned by SCIM) but never had access: DESIGN's "none".
    Provisioned,
    /// Has access and a pending invitation; has not signed in yet.
    Invited,
    /// Has accepted (signed in or opened the invitation) and has access.
    Active,
    /// Lost all access; the record, audit history and acceptance are kept.
    Suspended,
    /// Deleted by SCIM or by `removal.mode = "delete"`. Kept only as a tombstone in audit.
    Removed,
}

impl UserState {
    pub const ALL: [UserState; 5] = [
        Self::Provisioned,
        Self::Invited,
        Self::Active,
        Self::Suspended,
        Self::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "provisioned",
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Removed => "removed",
        }
    }

    /// Counted as an "active user" for mass-removal safety: the user has access.
    pub fn has_access(self) -> bool {
        matches!(self, Self::Invited | Self::Active)
    }
}

impl fmt::Display for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

impl FromStr for UserState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// A person as the directory knows them. Identity is (connection, id) plus the IdP's
/// immutable ids (`external_id`, `sso_subject`); never the email.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub connection: ConnectionId,
    /// SCIM userName; unique per connection, case-insensitively.
    pub user_name: String,
    /// SCIM externalId (the IdP's id for the user); unique per connection when set.
    pub external_id: Option<String>,
    /// SAML persistent NameID or OIDC `sub`; unique per connection when set.
    pub sso_subject: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// SCIM `active`. False means no access, whatever the groups say.
    pub active: bool,
    pub state: UserState,
    /// When the user first accepted an invitation or signed in; survives suspension.
    pub accepted_at: Option<DateTime<Utc>>,
    /// The access conflict in force (the user keeps their previous access meanwhile), so
    /// that `access.conflict` is told once per new conflict.
    pub conflict: Option<super::access::Conflict>,
    /// The full SCIM resource as last written by the IdP (extensions included), so reads
    /// return what was stored without a column per attribute.
    pub scim: serde_json::Value,
    /// Incremented on every write; the SCIM ETag is derived from it.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A new user of `connection`, state `provisioned`, version 1.
    pub fn new(connection: ConnectionId, user_name: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            id: UserId::generate(),
            connection,
            user_name: user_name.into(),
            external_id: None,
            sso_subject: None,
            email: None,
            display_name: None,
            given_name: None,
            family_name: None,
            active: true,
            state: UserState::Provisioned,
            accepted_at: None,
            conflict: None,
            scim: serde_json::Value::Object(Default::default()),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// `display_name` as events carry it: displayName, else given + family name.
    /// (`name.formatted` is copied into `display_name` by the SCIM layer when displayName is absent.)
    pub fn event_display_name(&self) -> Option<String> {
        if let Some(d) = self.display_name.as_ref().filter(|d| !d.trim().is_empty()) {
            return Some(d.clone());
        }
        let parts: Vec<&str> = [&self.given_name, &self.family_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// A group as the IdP knows it (a SCIM Group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdpGroup {
    pub id: GroupId,
    pub connection: ConnectionId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IdpGroup {
    pub fn new(
        connection: ConnectionId,
        display_name: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: GroupId::generate(),
            connection,
            display_name: display_name.into(),
            external_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

/// What access resolution needs to know of a group a user belongs to.
///
/// Shared text, not owned strings: a snapshot of the directory (`reconcile::plan`) holds
/// one per membership — a million for 100,000 users in ten groups each — while there are
/// only as many distinct groups as the IdP pushed; the store hands out clones of one
/// `Arc` per group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IdpGroupRef {
    pub display_name: std::sync::Arc<str>,
    pub external_id: Option<std::sync::Arc<str>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl InvitationStatus {
    pub const ALL: [InvitationStatus; 4] =
        [Self::Pending, Self::Accepted, Self::Expired, Self::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl FromStr for InvitationStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// An invitation. Only the SHA-256 of its token is stored; the token itself exists in
/// the email and nowhere else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub user_id: UserId,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// The address the invitation was sent to; renewals go here and nowhere else.
    pub email: String,
    /// Who invited: a connection id (`okta`) or an admin token name (`admin:ops`).
    pub invited_by: String,
    /// The access the invitation offers, as it was when sent.
    pub access: Access,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The invitation this one renews, if any.
    pub renewed_from: Option<String>,
}

impl Invitation {
    /// Pending but past `expires_at` counts as expired, whatever the stored status says.
    pub fn effective_status(&self, now: DateTime<Utc>) -> InvitationStatus {
        if self.status == InvitationStatus::Pending && now >= self.expires_at {
            InvitationStatus::Expired
        } else {
            self.status
        }
    }
}

/// A signed-in browser. Only the SHA-256 of the cookie value is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Hex SHA-256 of the cookie value.
    pub id_hash: String,
    pub user_id: UserId,
    pub connection: ConnectionId,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Absolute expiry.
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A sign-in started here and not finished yet: the SAML AuthnRequest or the OIDC
/// authorization request, remembered until the IdP answers (once) or it expires. Bound to
/// the browser that started it by the SHA-256 of that browser's `idp_sync_sso` cookie, so
/// an answer replayed from another browser is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoLogin {
    /// The SAML AuthnRequest ID (the answer's InResponseTo) or the OIDC `state`.
    pub key: String,
    pub connection: ConnectionId,
    /// Hex SHA-256 of the browser cookie.
    pub browser_hash: String,
    /// Where to go after signing in: a path on this origin, already checked.
    pub return_to: String,
    /// OIDC: the `nonce` the ID token must carry.
    pub nonce: Option<String>,
    /// OIDC: the PKCE code verifier.
    pub pkce_verifier: Option<String>,
    /// The invitation whose page started the sign-in, if any.
    pub invitation_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a change happened (DESIGN §6 `cause`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    Scim { request_id: String },
    Sso { connection: String },
    ConfigReload { revision: String },
    Admin { token: String },
    Invitation { invitation_id: String },
}

/// One append-only audit record. `user_id` is not a foreign key: the record outlives the
/// user, and `user_name` keeps a readable name of who it was about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Assigned by the store (monotonic; the cursor of audit pages). 0 before insertion.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    /// Dotted type, e.g. `user.invited`, `config.reloaded`, `scim.auth_refused`.
    pub kind: String,
    /// Who did it: `scim:okta`, `admin:ops`, `system`, …
    pub actor: String,
    pub connection: Option<ConnectionId>,
    pub user_id: Option<UserId>,
    pub user_name: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(kind: impl Into<String>, actor: impl Into<String>, now: DateTime<Utc>) -> Self {
        Self {
            seq: 0,
            occurred_at: now,
            kind: kind.into(),
            actor: actor.into(),
            connection: None,
            user_id: None,
            user_name: None,
            detail: serde_json::Value::Null,
        }
    }

    pub fn about(mut self, user: &User) -> Self {
        self.connection = Some(user.connection.clone());
        self.user_id = Some(user.id.clone());
        self.user_name = Some(user.user_name.clone());
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Event types delivered to email, webhooks and connectors (DESIGN §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    #[serde(rename = "user.invited")]
    UserInvited,
    #[serde(rename = "user.activated")]
    UserActivated,
    #[serde(rename = "user.access_changed")]
    UserAccessChanged,
    #[serde(rename = "user.suspended")]
    UserSuspended,
    #[serde(rename = "user.removed")]
    UserRemoved,
    #[serde(rename = "invitation.renewed")]
    InvitationRenewed,
    #[serde(rename = "access.conflict")]
    AccessConflict,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        Self::UserInvited,
        Self::UserActivated,
        Self::UserAccessChanged,
        Self::UserSuspended,
        Self::UserRemoved,
        Self::InvitationRenewed,
        Self::AccessConflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserInvited => "user.invited",
            Self::UserActivated => "user.activated",
            Self::UserAccessChanged => "user.access_changed",
            Self::UserSuspended => "user.suspended",
            Self::UserRemoved => "user.removed",
            Self::InvitationRenewed => "invitation.renewed",
            Self::AccessConflict => "access.conflict",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// A durable record of something to deliver, written in the same transaction as the
/// change that caused it. `payload` is the webhook body (DESIGN §6); delivery state per
/// destination is kept by the outbox module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// `evt_<uuid>`: unique, and the idempotency key of every delivery of it.
    pub id: String,
    pub event_type: EventType,
    pub user_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub payload: serde_json::Value,
}

impl OutboxEvent {
    pub fn new_id() -> String {
        format!("evt_{}", uuid::Uuid::new_v4().simple())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_falls_back_to_given_and_family() {
        let mut u = User::new("okta".into(), "ana@acme.com", Utc::now());
        assert_eq!(u.event_display_name(), None);
        u.given_name = Some("Ana".into());
        u.family_name = Some("Lima".into());
        assert_eq!(u.event_display_name().as_deref(), Some("Ana Lima"));
        u.display_name = Some("Ana L.".into());
        assert_eq!(u.event_display_name().as_deref(), Some("Ana L."));
    }

    #[test]
    fn string_forms_round_trip() {
        for s in UserState::ALL {
            assert_eq!(s.as_str().parse::<UserState>().ok(), Some(s));
        }
        for e in EventType::ALL {
            assert_eq!(e.as_str().parse::<EventType>().ok(), Some(e));
            assert_eq!(
                serde_json::to_value(e).ok(),
                Some(serde_json::json!(e.as_str()))
            );
        }
        for s in InvitationStatus::ALL {
            assert_eq!(s.as_str().parse::<InvitationStatus>().ok(), Some(s));
        }
    }

    #[test]
    fn pending_invitation_past_expiry_is_expired() {
        let now = Utc::now();
        let inv = Invitation {
            id: "inv".into(),
            user_id: UserId::new("u"),
            token_hash: "h".into(),
            email: "a@b.c".into(),
            invited_by: "okta".into(),
            access: Access::new("Editor".into()),
            status: InvitationStatus::Pending,
            created_at: now,
            expires_at: now + chrono::Duration::days(14),
            renewed_from: None,
        };
        assert_eq!(inv.effective_status(now), InvitationStatus::Pending);
        assert_eq!(
            inv.effective_status(now + chrono::Duration::days(14)),
            InvitationStatus::Expired
        );
    }
}
