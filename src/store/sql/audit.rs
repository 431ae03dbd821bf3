//! The audit log: append-only, listed newest first with a `seq` cursor. Rows have no
//! foreign key to users, so they outlive the user they are about.

use super::{Conn, Query, ts};
use crate::domain::{AuditEvent, ConnectionId, UserId};
use crate::store::error::StoreError;
use crate::store::rows::AuditRow;
use crate::store::types::{AuditQuery, page_size};
use sqlx::types::Json;

/// The INSERT of an audit event, without returning its `seq`; [`bind_append`] binds it.
pub(super) const APPEND: &str = "INSERT INTO audit_events (occurred_at, kind, actor, connection, \
     user_id, user_name, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(super) fn bind_append<'q>(query: Query<'q>, e: &'q AuditEvent) -> Query<'q> {
    query
        .bind(ts(e.occurred_at))
        .bind(&e.kind)
        .bind(&e.actor)
        .bind(e.connection.as_ref().map(ConnectionId::as_str))
        .bind(e.user_id.as_ref().map(UserId::as_str))
        .bind(e.user_name.as_deref())
        .bind(Json(&e.detail))
}

pub(super) async fn append(c: &mut Conn, e: &AuditEvent) -> Result<(), StoreError> {
    bind_append(sqlx::query(APPEND), e).execute(c).await?;
    Ok(())
}

pub(super) async fn list(c: &mut Conn, q: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT seq, occurred_at, kind, actor, connection, user_id, user_name, detail \
         FROM audit_events \
         WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR kind = $2) \
           AND ($3 IS NULL OR occurred_at >= $3) AND ($4 IS NULL OR seq < $4) \
         ORDER BY seq DESC LIMIT $5",
    )
    .bind(q.user.as_ref().map(UserId::as_str))
    .bind(q.kind.as_deref())
    .bind(q.since.map(ts))
    .bind(q.before_seq)
    .bind(page_size(q.limit))
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(AuditEvent::from).collect())
}
