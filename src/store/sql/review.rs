//! What waits for an administrator: removals held back (mass removal, grace), config
//! reloads held as mass removals, and the admin listings of deliveries by state, users in
//! conflict and invitations.

use super::{Conn, ts};
use crate::domain::{Access, ConnectionId, Invitation, User, UserId};
use crate::store::error::StoreError;
use crate::store::review::{
    DeliveryListing, DeliveryQuery, DeliveryState, HeldConfig, HeldConfigStatus, InvitationQuery,
    PendingRemoval, PendingRemovalQuery, PendingRemovalStatus, StoredPendingRemoval,
};
use crate::store::rows::{DeliveryRow, InvitationRow, UserRow};
use crate::store::types::{Delivery, page_size};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

fn parse<T: std::str::FromStr>(what: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::corrupt(format!("unknown {what} {value:?}")))
}

const REMOVAL_COLUMNS: &str = "seq, id, user_id, connection, user_name, kind, change_id, \
    previous, reason, cause, status, created_at, due_at, decided_at, decided_by";

#[derive(sqlx::FromRow)]
struct RemovalRow {
    seq: i64,
    id: String,
    user_id: String,
    connection: String,
    user_name: String,
    kind: String,
    change_id: String,
    previous: Json<Access>,
    reason: Json<serde_json::Value>,
    cause: Json<serde_json::Value>,
    status: String,
    created_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
}

impl TryFrom<RemovalRow> for StoredPendingRemoval {
    type Error = StoreError;
    fn try_from(r: RemovalRow) -> Result<Self, StoreError> {
        Ok(StoredPendingRemoval {
            seq: r.seq,
            removal: PendingRemoval {
                id: r.id,
                user_id: UserId::new(r.user_id),
                connection: ConnectionId::new(r.connection),
                user_name: r.user_name,
                kind: parse("pending removal kind", &r.kind)?,
                change_id: r.change_id,
                previous: r.previous.0,
                reason: r.reason.0,
                cause: r.cause.0,
                status: parse("pending removal status", &r.status)?,
                created_at: r.created_at,
                due_at: r.due_at,
                decided_at: r.decided_at,
                decided_by: r.decided_by,
            },
        })
    }
}

pub(super) async fn list_removals(
    c: &mut Conn,
    q: &PendingRemovalQuery,
) -> Result<Vec<StoredPendingRemoval>, StoreError> {
    let sql = format!(
        "SELECT {REMOVAL_COLUMNS} FROM pending_removals \
         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR seq > $2) \
           AND ($3 IS NULL OR (due_at IS NOT NULL AND due_at <= $3)) \
           AND ($5 IS NULL OR user_id = $5) \
         ORDER BY seq LIMIT $4"
    );
    sqlx::query_as::<_, RemovalRow>(&sql)
        .bind(q.status.map(PendingRemovalStatus::as_str))
        .bind(q.after_seq)
        .bind(q.due_by.map(ts))
        .bind(page_size(q.limit))
        .bind(q.user.as_ref().map(UserId::as_str))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(StoredPendingRemoval::try_from)
        .collect()
}

pub(super) async fn get_removal(
    c: &mut Conn,
    id: &str,
) -> Result<Option<StoredPendingRemoval>, StoreError> {
    let sql = format!("SELECT {REMOVAL_COLUMNS} FROM pending_removals WHERE id = $1");
    sqlx::query_as::<_, RemovalRow>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await?
        .map(StoredPendingRemoval::try_from)
        .transpose()
}

/// Stores `r` unless the user already has a pending removal; returns whether it did.
pub(super) async fn hold_removal(c: &mut Conn, r: &PendingRemoval) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO pending_removals (id, user_id, connection, user_name, kind, change_id, \
         previous, reason, cause, status, created_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
    )
    .bind(&r.id)
    .bind(r.user_id.as_str())
    .bind(r.connection.as_str())
    .bind(&r.user_name)
    .bind(r.kind.as_str())
    .bind(&r.change_id)
    .bind(Json(&r.previous))
    .bind(Json(&r.reason))
    .bind(Json(&r.cause))
    .bind(r.status.as_str())
    .bind(ts(r.created_at))
    .bind(r.due_at.map(ts))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Decides a pending removal; false when it is not pending (any more).
pub(super) async fn decide_removal(
    c: &mut Conn,
    id: &str,
    status: PendingRemovalStatus,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE pending_removals SET status = $2, decided_by = $3, decided_at = $4 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(by)
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn supersede_removals_of(
    c: &mut Conn,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE pending_removals SET status = 'superseded', decided_by = 'system', \
         decided_at = $2 WHERE user_id = $1 AND status = 'pending'",
    )
    .bind(user.as_str())
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn count_users_with_access(c: &mut Conn) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM user_access")
        .fetch_one(c)
        .await?)
}

const HELD_COLUMNS: &str =
    "fingerprint, source, removals, with_access, status, held_at, decided_at, decided_by";

#[derive(sqlx::FromRow)]
struct HeldRow {
    fingerprint: String,
    source: String,
    removals: i64,
    with_access: i64,
    status: String,
    held_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
}

impl TryFrom<HeldRow> for HeldConfig {
    type Error = StoreError;
    fn try_from(r: HeldRow) -> Result<Self, StoreError> {
        Ok(HeldConfig {
            fingerprint: r.fingerprint,
            source: r.source,
            removals: r.removals,
            with_access: r.with_access,
            status: parse("held config status", &r.status)?,
            held_at: r.held_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
        })
    }
}

pub(super) async fn list_held_configs(
    c: &mut Conn,
    status: Option<HeldConfigStatus>,
) -> Result<Vec<HeldConfig>, StoreError> {
    let sql = format!(
        "SELECT {HELD_COLUMNS} FROM held_configs WHERE ($1 IS NULL OR status = $1) \
         ORDER BY held_at DESC, fingerprint LIMIT 100"
    );
    sqlx::query_as::<_, HeldRow>(&sql)
        .bind(status.map(HeldConfigStatus::as_str))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(HeldConfig::try_from)
        .collect()
}

pub(super) async fn get_held_config(
    c: &mut Conn,
    fingerprint: &str,
) -> Result<Option<HeldConfig>, StoreError> {
    let sql = format!("SELECT {HELD_COLUMNS} FROM held_configs WHERE fingerprint = $1");
    sqlx::query_as::<_, HeldRow>(&sql)
        .bind(fingerprint)
        .fetch_optional(c)
        .await?
        .map(HeldConfig::try_from)
        .transpose()
}

/// Records a held reload: a new row, or an existing one (held or rejected before) held
/// again with fresh numbers. An approved one stays approved.
pub(super) async fn hold_config(c: &mut Conn, h: &HeldConfig) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO held_configs (fingerprint, source, removals, with_access, status, held_at) \
         VALUES ($1, $2, $3, $4, 'held', $5) \
         ON CONFLICT (fingerprint) DO UPDATE SET source = excluded.source, \
           removals = excluded.removals, with_access = excluded.with_access, \
           held_at = excluded.held_at, status = 'held', decided_at = NULL, decided_by = NULL \
         WHERE held_configs.status <> 'approved'",
    )
    .bind(&h.fingerprint)
    .bind(&h.source)
    .bind(h.removals)
    .bind(h.with_access)
    .bind(ts(h.held_at))
    .execute(c)
    .await?;
    Ok(())
}

/// Approves or rejects a held reload; false when it is not held (any more).
pub(super) async fn decide_held_config(
    c: &mut Conn,
    fingerprint: &str,
    status: HeldConfigStatus,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE held_configs SET status = $2, decided_by = $3, decided_at = $4 \
         WHERE fingerprint = $1 AND status = 'held'",
    )
    .bind(fingerprint)
    .bind(status.as_str())
    .bind(by)
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

#[derive(sqlx::FromRow)]
struct ListingRow {
    seq: i64,
    event_type: String,
    user_id: Option<String>,
    occurred_at: DateTime<Utc>,
    #[sqlx(flatten)]
    delivery: DeliveryRow,
    attempt_started_at: Option<DateTime<Utc>>,
    revived_at: Option<DateTime<Utc>>,
}

pub(super) async fn list_deliveries(
    c: &mut Conn,
    q: &DeliveryQuery,
) -> Result<Vec<DeliveryListing>, StoreError> {
    let state = match q.state {
        DeliveryState::Pending => "d.status = 'pending' AND d.last_error IS NULL",
        DeliveryState::Failed => "d.status = 'pending' AND d.last_error IS NOT NULL",
        DeliveryState::Dead => "d.status = 'dead'",
        DeliveryState::Delivered => "d.status = 'delivered'",
    };
    let (after_seq, after_destination) = match &q.after {
        Some((seq, destination)) => (Some(*seq), Some(destination.as_str())),
        None => (None, None),
    };
    let sql = format!(
        "SELECT e.seq, e.event_type, e.user_id, e.occurred_at, d.event_id, d.destination, \
                d.status, d.attempts, d.next_attempt_at, d.claimed_until, d.last_error, \
                d.delivered_at, d.attempt_started_at, d.revived_at \
         FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id \
         WHERE {state} AND ($1 IS NULL OR d.destination = $1) \
           AND ($2 IS NULL OR e.seq > $2 OR (e.seq = $2 AND d.destination > $3)) \
         ORDER BY e.seq, d.destination LIMIT $4"
    );
    sqlx::query_as::<_, ListingRow>(&sql)
        .bind(q.destination.as_deref())
        .bind(after_seq)
        .bind(after_destination)
        .bind(page_size(q.limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(|r| {
            Ok(DeliveryListing {
                seq: r.seq,
                event_type: r.event_type,
                user_id: r.user_id.map(UserId::new),
                occurred_at: r.occurred_at,
                delivery: Delivery::try_from(r.delivery)?,
                attempt_started_at: r.attempt_started_at,
                revived_at: r.revived_at,
            })
        })
        .collect()
}

const USER_COLUMNS: &str = "id, connection, user_name, external_id, sso_subject, email, \
    display_name, given_name, family_name, active, state, accepted_at, conflict, scim, version, \
    created_at, updated_at";

pub(super) async fn list_conflicted_users(
    c: &mut Conn,
    after: Option<&UserId>,
    limit: u32,
) -> Result<Vec<User>, StoreError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE conflict IS NOT NULL \
         AND ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(after.map(UserId::as_str))
        .bind(page_size(limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}

const INVITATION_COLUMNS: &str = "id, user_id, token_hash, email, invited_by, access, status, \
    created_at, expires_at, renewed_from";

pub(super) async fn list_invitations(
    c: &mut Conn,
    q: &InvitationQuery,
) -> Result<Vec<Invitation>, StoreError> {
    let (before_at, before_id) = match &q.before {
        Some((at, id)) => (Some(ts(*at)), Some(id.as_str())),
        None => (None, None),
    };
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations \
         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR user_id = $2) \
           AND ($3 IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    );
    sqlx::query_as::<_, InvitationRow>(&sql)
        .bind(q.status.map(|s| s.as_str()))
        .bind(q.user.as_ref().map(UserId::as_str))
        .bind(before_at)
        .bind(before_id)
        .bind(page_size(q.limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}
