//! Values the store's methods take and return that are not domain entities: queries with
//! their cursors, stored access with its sources, outbox deliveries, pool statistics.

use crate::domain::{
    Access, ConnectionId, GrantSource, OrgSlug, OutboxEvent, ResolvedAccess, RoleName, UserId,
    UserState,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The database engine behind a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Connections of the pool(s): all of them, and how many are idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
}

/// A page of users, ordered by id; every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct UserQuery {
    pub connection: Option<ConnectionId>,
    pub state: Option<UserState>,
    /// Only users with a grant on this organization.
    pub organization: Option<OrgSlug>,
    /// Cursor: the last id of the previous page.
    pub after: Option<UserId>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

/// A page of audit events, newest first; every filter is optional.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub user: Option<UserId>,
    pub kind: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Cursor: the smallest `seq` of the previous page.
    pub before_seq: Option<i64>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

/// A page of outbox events, oldest first (the order they are delivered in).
#[derive(Clone, Debug, Default)]
pub struct OutboxQuery {
    pub user: Option<UserId>,
    pub event_type: Option<crate::domain::EventType>,
    /// Cursor: the largest `seq` of the previous page.
    pub after_seq: Option<i64>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

/// An outbox event as stored, with its position in the delivery order.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredOutboxEvent {
    pub seq: i64,
    pub event: OutboxEvent,
}

/// A user's access as stored: what they may do, and which mapping and IdP group each part
/// came from ("inherited from group X").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAccess {
    pub user_id: UserId,
    pub resolved: ResolvedAccess,
    pub updated_at: DateTime<Utc>,
}

impl StoredAccess {
    pub fn access(&self) -> &Access {
        &self.resolved.access
    }

    pub fn sources_of(&self, organization: &OrgSlug) -> Option<&BTreeSet<GrantSource>> {
        self.resolved.organization_sources.get(organization)
    }
}

/// One user's grant on one organization, as a row of the admin API's listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub user_id: UserId,
    pub organization: OrgSlug,
    pub role: RoleName,
    pub sources: BTreeSet<GrantSource>,
}

/// Where a delivery of an outbox event to one destination stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Gave up (non-retryable answer or `max_age`); visible in the admin API.
    Dead,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [Self::Pending, Self::Delivered, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = crate::domain::UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| crate::domain::UnknownValue(s.to_owned()))
    }
}

/// The delivery of one outbox event to one destination (`email`, `webhook:<url>`,
/// `connector:<name>` — the outbox module names them).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub event_id: String,
    pub destination: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    /// While set and in the future, one worker owns this delivery.
    pub claimed_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What a delivery worker receives when it claims work: the delivery and its event.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub event: StoredOutboxEvent,
}

pub(crate) fn page_size(limit: u32) -> i64 {
    if limit == 0 { 100 } else { i64::from(limit) }
}

/// Sources of the whole access, split the way the rows store them.
pub(crate) type OrganizationSources = BTreeMap<OrgSlug, BTreeSet<GrantSource>>;
