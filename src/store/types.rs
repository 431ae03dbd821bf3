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

/// A SCIM list (`GET /Users?filter=…`, `POST /.search`) of one connection's users or
/// groups: filter, sort, and 1-based index paging (RFC 7644 §3.4.2).
///
/// Pages are `OFFSET`/`LIMIT`, as SCIM's `startIndex` asks: a deep page costs O(offset)
/// rows skipped. The order is total (the sort key, then `id`; `created_at, id` without
/// `sort_by`), so consecutive pages neither repeat nor skip a resource while nothing
/// changes. Resources without a value for `sort_by` come last in both directions.
#[derive(Clone, Debug)]
pub struct ScimListQuery {
    pub connection: ConnectionId,
    pub filter: Option<crate::scim::Filter>,
    pub sort_by: Option<crate::scim::AttrPath>,
    pub descending: bool,
    /// 1-based; 0 is read as 1.
    pub start_index: u64,
    /// Page size; 0 returns no resources, only `total_results`. The caller caps it.
    pub count: u32,
}

impl ScimListQuery {
    /// Everything of `connection`, first page of `count`.
    pub fn new(connection: ConnectionId, count: u32) -> Self {
        Self {
            connection,
            filter: None,
            sort_by: None,
            descending: false,
            start_index: 1,
            count,
        }
    }
}

/// One page of a SCIM list and how many resources match in all.
#[derive(Clone, Debug, PartialEq)]
pub struct ScimPage<T> {
    pub total_results: u64,
    pub items: Vec<T>,
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
    /// The delivery's private payload (an invitation email's link), if it has one.
    pub secret: Option<serde_json::Value>,
    /// Set when an earlier attempt was started ([`StoreTx::mark_attempt_started`]) and its
    /// result never recorded: the process died during that attempt.
    ///
    /// [`StoreTx::mark_attempt_started`]: crate::store::StoreTx::mark_attempt_started
    pub attempt_started_at: Option<DateTime<Utc>>,
    /// When an admin last revived it from the dead letters; `max_age` counts from here.
    pub revived_at: Option<DateTime<Utc>>,
}

pub(crate) fn page_size(limit: u32) -> i64 {
    if limit == 0 { 100 } else { i64::from(limit) }
}

/// Sources of the whole access, split the way the rows store them.
pub(crate) type OrganizationSources = BTreeMap<OrgSlug, BTreeSet<GrantSource>>;

/// A user as the point reads return it ([`crate::store::api::PointReads`]): what a SCIM
/// response shows of the columns, the stored SCIM JSON as the database holds it (text,
/// not parsed), the timestamps as stored, and the user's groups as `(id, displayName)` in
/// id order (empty when not asked for).
#[derive(Clone, Debug, PartialEq)]
pub struct UserDoc {
    pub id: crate::domain::UserId,
    pub connection: crate::domain::ConnectionId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub scim: String,
    /// The user's groups as `(id, displayName)`, shared with the reader's cache of names.
    pub groups: Vec<(std::sync::Arc<str>, std::sync::Arc<str>)>,
}
