//! Users: create, read by any of their identities, optimistic update, delete, list.

use super::{Conn, FOR_NO_KEY_UPDATE, FOR_UPDATE, Query, ROLE_CHANGE_LOCK, USER_GROUPS_JSON, ts};
use crate::domain::{ConnectionId, GroupId, User, UserId};
use crate::store::error::StoreError;
use crate::store::rows::{UserRow, UserWithGroupsRow};
use crate::store::types::{UserQuery, page_size};
use sqlx::types::Json;

const COLUMNS: &str = "id, connection, user_name, external_id, sso_subject, email, \
    display_name, given_name, family_name, active, state, accepted_at, conflict, scim, version, \
    created_at, updated_at";

/// The identities a user can be found by, each unique per connection.
#[derive(Clone, Copy)]
pub(super) enum Key {
    /// Compared through `user_name_key`, the Unicode lower case of userName.
    UserName,
    ExternalId,
    SsoSubject,
}

/// The lookup form of a userName: what the unique index compares.
fn user_name_key(user_name: &str) -> String {
    user_name.to_lowercase()
}

pub(super) async fn get(c: &mut Conn, id: &UserId, lock: bool) -> Result<Option<User>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1{lock}");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(id.as_str())
        .fetch_optional(c)
        .await?
        .map(User::try_from)
        .transpose()
}

/// The user and its groups (`(id, displayName)` in id order) in one statement.
pub(super) async fn get_with_groups(
    c: &mut Conn,
    id: &UserId,
) -> Result<Option<(User, Vec<(GroupId, String)>)>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS}, {USER_GROUPS_JSON} AS groups FROM users u WHERE u.id = $1");
    sqlx::query_as::<_, UserWithGroupsRow>(&sql)
        .bind(id.as_str())
        .fetch_optional(c)
        .await?
        .map(TryFrom::try_from)
        .transpose()
}

/// Locks the users' rows, in id order, until the transaction ends (PostgreSQL; SQLite's
/// single writer already serialises writers). Reads after it see what concurrent writers
/// committed, so a user is recomputed from their memberships as they now are.
pub(super) async fn lock(c: &mut Conn, ids: &[UserId]) -> Result<(), StoreError> {
    if FOR_NO_KEY_UPDATE.is_empty() || ids.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&str> = ids.iter().map(UserId::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(1_000) {
        let sql = format!(
            "SELECT id FROM users WHERE id IN ({}) ORDER BY id{FOR_NO_KEY_UPDATE}",
            super::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        query.fetch_all(&mut *c).await?;
    }
    Ok(())
}

/// Takes the lock that serialises changes to who holds the top role (PostgreSQL).
pub(super) async fn lock_role_changes(c: &mut Conn) -> Result<(), StoreError> {
    if let Some(sql) = ROLE_CHANGE_LOCK {
        sqlx::query(sql).execute(c).await?;
    }
    Ok(())
}

pub(super) async fn find_by(
    c: &mut Conn,
    key: Key,
    connection: &ConnectionId,
    value: &str,
) -> Result<Option<User>, StoreError> {
    let (column, value) = match key {
        Key::UserName => ("user_name_key", user_name_key(value)),
        Key::ExternalId => ("external_id", value.to_owned()),
        Key::SsoSubject => ("sso_subject", value.to_owned()),
    };
    let sql = format!("SELECT {COLUMNS} FROM users WHERE connection = $1 AND {column} = $2");
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(connection.as_str())
        .bind(value)
        .fetch_optional(c)
        .await?
        .map(User::try_from)
        .transpose()
}

/// The INSERT of a new user; [`bind_create`] binds its parameters.
pub(super) const CREATE: &str = "INSERT INTO users (id, connection, user_name, user_name_key, \
     external_id, sso_subject, email, display_name, given_name, family_name, active, state, \
     accepted_at, scim, version, created_at, updated_at, conflict) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

pub(super) fn bind_create<'q>(query: Query<'q>, user: &'q User) -> Query<'q> {
    let query = query.bind(user.id.as_str()).bind(user.connection.as_str());
    bind_attributes(query, user)
        .bind(user.version)
        .bind(ts(user.created_at))
        .bind(ts(user.updated_at))
        .bind(user.conflict.as_ref().map(Json))
}

/// The attributes a create and an update both write, in column order from `user_name` to
/// `scim` (12 parameters).
fn bind_attributes<'q>(query: Query<'q>, user: &'q User) -> Query<'q> {
    query
        .bind(&user.user_name)
        .bind(user_name_key(&user.user_name))
        .bind(user.external_id.as_deref())
        .bind(user.sso_subject.as_deref())
        .bind(user.email.as_deref())
        .bind(user.display_name.as_deref())
        .bind(user.given_name.as_deref())
        .bind(user.family_name.as_deref())
        .bind(user.active)
        .bind(user.state.as_str())
        .bind(user.accepted_at.map(ts))
        .bind(Json(&user.scim))
}

pub(super) async fn create(c: &mut Conn, user: &User) -> Result<(), StoreError> {
    bind_create(sqlx::query(CREATE), user).execute(c).await?;
    Ok(())
}

/// Writes every attribute but the id and connection (which never change) if the stored
/// version is `expected`; the stored version becomes `expected + 1`.
pub(super) async fn update(c: &mut Conn, user: &User, expected: i64) -> Result<User, StoreError> {
    let version = expected + 1;
    let query = sqlx::query(
        "UPDATE users SET user_name = $2, user_name_key = $3, external_id = $4, \
         sso_subject = $5, email = $6, display_name = $7, given_name = $8, family_name = $9, \
         active = $10, state = $11, accepted_at = $12, scim = $13, version = $14, \
         updated_at = $15, conflict = $17 \
         WHERE id = $1 AND version = $16",
    )
    .bind(user.id.as_str());
    let done = bind_attributes(query, user)
        .bind(version)
        .bind(ts(user.updated_at))
        .bind(expected)
        .bind(user.conflict.as_ref().map(Json))
        .execute(&mut *c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(super::version_miss(c, "users", user.id.as_str(), expected).await);
    }
    let mut stored = user.clone();
    stored.version = version;
    Ok(stored)
}

pub(super) async fn delete(c: &mut Conn, id: &UserId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.as_str())
        .execute(c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn list(c: &mut Conn, q: &UserQuery) -> Result<Vec<User>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u \
         WHERE ($1 IS NULL OR connection = $1) \
           AND ($2 IS NULL OR state = $2) \
           AND ($3 IS NULL OR EXISTS (SELECT 1 FROM access_grants g \
                                      WHERE g.user_id = u.id AND g.organization = $3)) \
           AND ($4 IS NULL OR id > $4) \
         ORDER BY id LIMIT $5"
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(q.connection.as_ref().map(ConnectionId::as_str))
        .bind(q.state.map(|s| s.as_str()))
        .bind(q.organization.as_ref().map(|o| o.as_str()))
        .bind(q.after.as_ref().map(UserId::as_str))
        .bind(page_size(q.limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}
