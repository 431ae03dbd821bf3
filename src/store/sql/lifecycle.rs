//! Invitations, browser sessions and the SAML replay cache: the state of signing in.
//! Only hashes of invitation tokens and session cookies are stored.

use super::{Conn, ts};
use crate::domain::{Invitation, InvitationStatus, Session, SsoLogin, UserId};
use crate::store::error::StoreError;
use crate::store::rows::{InvitationRow, SessionRow, SsoLoginRow};
use chrono::{DateTime, Utc};
use sqlx::types::Json;

const INVITATION_COLUMNS: &str = "id, user_id, token_hash, email, invited_by, access, status, \
    created_at, expires_at, renewed_from";

#[derive(Clone, Copy)]
pub(super) enum Key {
    Id,
    TokenHash,
}

pub(super) async fn get(
    c: &mut Conn,
    key: Key,
    value: &str,
) -> Result<Option<Invitation>, StoreError> {
    let column = match key {
        Key::Id => "id",
        Key::TokenHash => "token_hash",
    };
    let sql = format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE {column} = $1");
    sqlx::query_as::<_, InvitationRow>(&sql)
        .bind(value)
        .fetch_optional(c)
        .await?
        .map(Invitation::try_from)
        .transpose()
}

pub(super) async fn list_of_user(
    c: &mut Conn,
    user: &UserId,
) -> Result<Vec<Invitation>, StoreError> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations WHERE user_id = $1 \
         ORDER BY created_at DESC, id DESC"
    );
    sqlx::query_as::<_, InvitationRow>(&sql)
        .bind(user.as_str())
        .fetch_all(c)
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}

pub(super) async fn create(c: &mut Conn, inv: &Invitation) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO invitations (id, user_id, token_hash, email, invited_by, access, status, \
         created_at, expires_at, renewed_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&inv.id)
    .bind(inv.user_id.as_str())
    .bind(&inv.token_hash)
    .bind(&inv.email)
    .bind(&inv.invited_by)
    .bind(Json(&inv.access))
    .bind(inv.status.as_str())
    .bind(ts(inv.created_at))
    .bind(ts(inv.expires_at))
    .bind(inv.renewed_from.as_deref())
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn set_status(
    c: &mut Conn,
    id: &str,
    status: InvitationStatus,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE invitations SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn revoke_pending(c: &mut Conn, user: &UserId) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "UPDATE invitations SET status = 'revoked' WHERE user_id = $1 AND status = 'pending'",
    )
    .bind(user.as_str())
    .execute(c)
    .await?
    .rows_affected())
}

pub(super) async fn get_session(
    c: &mut Conn,
    id_hash: &str,
) -> Result<Option<Session>, StoreError> {
    Ok(sqlx::query_as::<_, SessionRow>(
        "SELECT id_hash, user_id, connection, created_at, last_seen_at, expires_at, revoked_at \
         FROM sessions WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(c)
    .await?
    .map(Session::from))
}

pub(super) async fn create_session(c: &mut Conn, s: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, connection, created_at, last_seen_at, \
         expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&s.id_hash)
    .bind(s.user_id.as_str())
    .bind(s.connection.as_str())
    .bind(ts(s.created_at))
    .bind(ts(s.last_seen_at))
    .bind(ts(s.expires_at))
    .bind(s.revoked_at.map(ts))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn touch_session(
    c: &mut Conn,
    id_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
    )
    .bind(id_hash)
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_session(
    c: &mut Conn,
    id_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
    )
    .bind(id_hash)
    .bind(ts(now))
    .execute(c)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn revoke_sessions_of(
    c: &mut Conn,
    user: &UserId,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(
        sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user.as_str())
        .bind(ts(now))
        .execute(c)
        .await?
        .rows_affected(),
    )
}

pub(super) async fn remember_assertion(
    c: &mut Conn,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    sqlx::query("DELETE FROM saml_replay WHERE expires_at <= $1")
        .bind(ts(now))
        .execute(&mut *c)
        .await?;
    let done = sqlx::query(
        "INSERT INTO saml_replay (assertion_id, expires_at) VALUES ($1, $2) \
         ON CONFLICT (assertion_id) DO NOTHING",
    )
    .bind(assertion_id)
    .bind(ts(expires_at))
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn create_sso_login(
    c: &mut Conn,
    l: &SsoLogin,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
        .bind(ts(now))
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO sso_logins (login_key, connection, browser_hash, return_to, nonce, \
         pkce_verifier, invitation_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&l.key)
    .bind(l.connection.as_str())
    .bind(&l.browser_hash)
    .bind(&l.return_to)
    .bind(l.nonce.as_deref())
    .bind(l.pkce_verifier.as_deref())
    .bind(l.invitation_id.as_deref())
    .bind(ts(l.created_at))
    .bind(ts(l.expires_at))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn take_sso_login(
    c: &mut Conn,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<SsoLogin>, StoreError> {
    // DELETE … RETURNING: of two answers racing with the same key, one gets the row.
    let row = sqlx::query_as::<_, SsoLoginRow>(
        "DELETE FROM sso_logins WHERE login_key = $1 RETURNING login_key, connection, \
         browser_hash, return_to, nonce, pkce_verifier, invitation_id, created_at, expires_at",
    )
    .bind(key)
    .fetch_optional(c)
    .await?;
    Ok(row.map(SsoLogin::from).filter(|l| l.expires_at > now))
}
