//! The outbox: events written in the same transaction as the change that caused them,
//! one delivery row per destination, and the claim protocol delivery workers use.
//!
//! A claim takes due deliveries oldest first, skipping any whose user has an older
//! pending delivery to the same destination (so a user's events arrive in order), and
//! leases them until `now + lease`. On PostgreSQL the claim query locks with
//! `FOR UPDATE … SKIP LOCKED`, so replicas never claim the same row; on SQLite the write
//! transaction is already exclusive.

use super::{Conn, FOR_UPDATE_SKIP_LOCKED, SEQ_RETURNING, inserted_seq, ts};
use crate::domain::{OutboxEvent, UserId};
use crate::store::error::StoreError;
use crate::store::rows::{ClaimRow, DeliveryRow, OutboxRow};
use crate::store::types::{ClaimedDelivery, Delivery, OutboxQuery, StoredOutboxEvent, page_size};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

const EVENT_COLUMNS: &str = "seq, id, event_type, user_id, occurred_at, payload";
const DELIVERY_COLUMNS: &str = "event_id, destination, status, attempts, next_attempt_at, \
    claimed_until, last_error, delivered_at";

pub(super) async fn enqueue(
    c: &mut Conn,
    event: &OutboxEvent,
    destinations: &[String],
) -> Result<i64, StoreError> {
    let sql = [
        "INSERT INTO outbox_events (id, event_type, user_id, occurred_at, payload) \
         VALUES ($1, $2, $3, $4, $5)",
        SEQ_RETURNING,
    ]
    .concat();
    let query = sqlx::query(&sql)
        .bind(&event.id)
        .bind(event.event_type.as_str())
        .bind(event.user_id.as_ref().map(UserId::as_str))
        .bind(ts(event.occurred_at))
        .bind(Json(&event.payload));
    let seq = inserted_seq(&mut *c, query).await?;
    for destination in destinations {
        sqlx::query(
            "INSERT INTO outbox_deliveries (event_id, destination, status, attempts, \
             next_attempt_at) VALUES ($1, $2, 'pending', 0, $3)",
        )
        .bind(&event.id)
        .bind(destination)
        .bind(ts(event.occurred_at))
        .execute(&mut *c)
        .await?;
    }
    Ok(seq)
}

pub(super) async fn get(c: &mut Conn, id: &str) -> Result<Option<StoredOutboxEvent>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id = $1");
    sqlx::query_as::<_, OutboxRow>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await?
        .map(StoredOutboxEvent::try_from)
        .transpose()
}

pub(super) async fn list(
    c: &mut Conn,
    q: &OutboxQuery,
) -> Result<Vec<StoredOutboxEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM outbox_events \
         WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR event_type = $2) \
           AND ($3 IS NULL OR seq > $3) \
         ORDER BY seq LIMIT $4"
    );
    sqlx::query_as::<_, OutboxRow>(&sql)
        .bind(q.user.as_ref().map(UserId::as_str))
        .bind(q.event_type.map(|t| t.as_str()))
        .bind(q.after_seq)
        .bind(page_size(q.limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(StoredOutboxEvent::try_from)
        .collect()
}

pub(super) async fn deliveries(c: &mut Conn, event_id: &str) -> Result<Vec<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM outbox_deliveries WHERE event_id = $1 \
         ORDER BY destination"
    );
    sqlx::query_as::<_, DeliveryRow>(&sql)
        .bind(event_id)
        .fetch_all(c)
        .await?
        .into_iter()
        .map(Delivery::try_from)
        .collect()
}

pub(super) async fn claim(
    c: &mut Conn,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: u32,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let sql = format!(
        "SELECT d.event_id, d.destination, d.status, d.attempts, d.next_attempt_at, \
                d.claimed_until, d.last_error, d.delivered_at, \
                e.seq, e.id, e.event_type, e.user_id, e.occurred_at, e.payload, \
                d.secret, d.attempt_started_at, d.revived_at \
         FROM outbox_deliveries d JOIN outbox_events e ON e.id = d.event_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
           AND (d.claimed_until IS NULL OR d.claimed_until <= $1) \
           AND NOT EXISTS ( \
             SELECT 1 FROM outbox_deliveries d2 JOIN outbox_events e2 ON e2.id = d2.event_id \
             WHERE d2.destination = d.destination AND d2.status = 'pending' \
               AND e2.user_id = e.user_id AND e2.seq < e.seq) \
         ORDER BY e.seq LIMIT $2{FOR_UPDATE_SKIP_LOCKED}"
    );
    let rows: Vec<ClaimRow> = sqlx::query_as(&sql)
        .bind(ts(now))
        .bind(page_size(limit))
        .fetch_all(&mut *c)
        .await?;
    let until = now + lease;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let mut delivery = Delivery::try_from(row.delivery)?;
        sqlx::query(
            "UPDATE outbox_deliveries SET claimed_until = $3, attempts = attempts + 1 \
             WHERE event_id = $1 AND destination = $2",
        )
        .bind(&delivery.event_id)
        .bind(&delivery.destination)
        .bind(ts(until))
        .execute(&mut *c)
        .await?;
        delivery.claimed_until = Some(until);
        delivery.attempts += 1;
        claimed.push(ClaimedDelivery {
            delivery,
            event: StoredOutboxEvent::try_from(row.event)?,
            secret: row.secret.map(|s| s.0),
            attempt_started_at: row.attempt_started_at,
            revived_at: row.revived_at,
        });
    }
    Ok(claimed)
}

async fn finish(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    set: &str,
    value: Option<String>,
    at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE outbox_deliveries SET {set}, claimed_until = NULL \
         WHERE event_id = $1 AND destination = $2"
    );
    let done = sqlx::query(&sql)
        .bind(event_id)
        .bind(destination)
        .bind(value)
        .bind(at.map(ts))
        .execute(c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn mark_delivered(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let set = "status = 'delivered', last_error = $3, delivered_at = $4, secret = NULL, \
        attempt_started_at = NULL";
    finish(c, event_id, destination, set, None, Some(now)).await
}

pub(super) async fn mark_retry(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<(), StoreError> {
    let set = "last_error = $3, next_attempt_at = $4, attempt_started_at = NULL";
    let at = Some(next_attempt_at);
    finish(c, event_id, destination, set, Some(error.to_owned()), at).await
}

pub(super) async fn mark_dead(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    error: &str,
) -> Result<(), StoreError> {
    let set = "status = 'dead', last_error = $3, delivered_at = $4, secret = NULL, \
        attempt_started_at = NULL";
    finish(c, event_id, destination, set, Some(error.to_owned()), None).await
}

pub(super) async fn set_secret(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    secret: &serde_json::Value,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_deliveries SET secret = $3 WHERE event_id = $1 AND destination = $2 \
         AND status = 'pending'",
    )
    .bind(event_id)
    .bind(destination)
    .bind(Json(secret))
    .execute(c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn mark_attempt_started(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_deliveries SET attempt_started_at = $3 \
         WHERE event_id = $1 AND destination = $2 AND status = 'pending'",
    )
    .bind(event_id)
    .bind(destination)
    .bind(ts(now))
    .execute(c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn revive_dead(
    c: &mut Conn,
    event_id: &str,
    destination: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_deliveries SET status = 'pending', next_attempt_at = $3, \
         revived_at = $3, claimed_until = NULL, attempt_started_at = NULL, delivered_at = NULL \
         WHERE event_id = $1 AND destination = $2 AND status = 'dead'",
    )
    .bind(event_id)
    .bind(destination)
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}
