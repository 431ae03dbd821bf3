//! IdP groups and their members. Membership is one row per (group, user): adding or
//! removing members costs one statement per 1,000 changed members, never a rewrite of the
//! list, and concurrent changes to one group cannot lose each other's updates. Member
//! pages walk the primary key `(group_id, user_id)` with a cursor, so a page of a
//! 100,000-member group costs the page, not the offset.

use super::{Conn, FOR_UPDATE, GROUP_NAMES_OF_USER, GROUP_REFS_OF_USER, ts};
use crate::domain::{ConnectionId, GroupId, IdpGroup, IdpGroupRef, UserId};
use crate::store::error::StoreError;
use crate::store::rows::GroupRow;
use crate::store::types::page_size;

const COLUMNS: &str = "id, connection, display_name, external_id, version, created_at, updated_at";

fn display_name_key(display_name: &str) -> String {
    display_name.to_lowercase()
}

pub(super) async fn get(
    c: &mut Conn,
    id: &GroupId,
    lock: bool,
) -> Result<Option<IdpGroup>, StoreError> {
    let lock = if lock { FOR_UPDATE } else { "" };
    let sql = format!("SELECT {COLUMNS} FROM idp_groups WHERE id = $1{lock}");
    Ok(sqlx::query_as::<_, GroupRow>(&sql)
        .bind(id.as_str())
        .fetch_optional(c)
        .await?
        .map(IdpGroup::from))
}

pub(super) async fn find_by_external_id(
    c: &mut Conn,
    connection: &ConnectionId,
    external_id: &str,
) -> Result<Option<IdpGroup>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM idp_groups WHERE connection = $1 AND external_id = $2");
    Ok(sqlx::query_as::<_, GroupRow>(&sql)
        .bind(connection.as_str())
        .bind(external_id)
        .fetch_optional(c)
        .await?
        .map(IdpGroup::from))
}

pub(super) async fn find_by_display_name(
    c: &mut Conn,
    connection: &ConnectionId,
    display_name: &str,
) -> Result<Vec<IdpGroup>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM idp_groups WHERE connection = $1 AND display_name_key = $2 \
         ORDER BY id"
    );
    Ok(sqlx::query_as::<_, GroupRow>(&sql)
        .bind(connection.as_str())
        .bind(display_name_key(display_name))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(IdpGroup::from)
        .collect())
}

pub(super) async fn list(
    c: &mut Conn,
    connection: Option<&ConnectionId>,
    after: Option<&GroupId>,
    limit: u32,
) -> Result<Vec<IdpGroup>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM idp_groups \
         WHERE ($1 IS NULL OR connection = $1) AND ($2 IS NULL OR id > $2) \
         ORDER BY id LIMIT $3"
    );
    Ok(sqlx::query_as::<_, GroupRow>(&sql)
        .bind(connection.map(ConnectionId::as_str))
        .bind(after.map(GroupId::as_str))
        .bind(page_size(limit))
        .fetch_all(c)
        .await?
        .into_iter()
        .map(IdpGroup::from)
        .collect())
}

pub(super) async fn create(c: &mut Conn, group: &IdpGroup) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO idp_groups (id, connection, display_name, display_name_key, external_id, \
         version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(group.id.as_str())
    .bind(group.connection.as_str())
    .bind(&group.display_name)
    .bind(display_name_key(&group.display_name))
    .bind(group.external_id.as_deref())
    .bind(group.version)
    .bind(ts(group.created_at))
    .bind(ts(group.updated_at))
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn update(
    c: &mut Conn,
    group: &IdpGroup,
    expected: i64,
) -> Result<IdpGroup, StoreError> {
    let version = expected + 1;
    let done = sqlx::query(
        "UPDATE idp_groups SET display_name = $2, display_name_key = $3, external_id = $4, \
         version = $5, updated_at = $6 WHERE id = $1 AND version = $7",
    )
    .bind(group.id.as_str())
    .bind(&group.display_name)
    .bind(display_name_key(&group.display_name))
    .bind(group.external_id.as_deref())
    .bind(version)
    .bind(ts(group.updated_at))
    .bind(expected)
    .execute(&mut *c)
    .await?;
    if done.rows_affected() == 0 {
        return Err(super::version_miss(c, "idp_groups", group.id.as_str(), expected).await);
    }
    let mut stored = group.clone();
    stored.version = version;
    Ok(stored)
}

pub(super) async fn delete(c: &mut Conn, id: &GroupId) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM idp_groups WHERE id = $1")
        .bind(id.as_str())
        .execute(c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Ids per statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const CHUNK: usize = 1000;

fn distinct(users: &[UserId]) -> Vec<&str> {
    let mut ids: Vec<&str> = users.iter().map(UserId::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub(super) async fn add_members(
    c: &mut Conn,
    group: &GroupId,
    users: &[UserId],
) -> Result<u64, StoreError> {
    let mut added = 0;
    for chunk in distinct(users).chunks(CHUNK) {
        let rows = (2..chunk.len() + 2)
            .map(|i| format!("($1, ${i})"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO group_members (group_id, user_id) VALUES {rows} ON CONFLICT DO NOTHING"
        );
        let mut query = sqlx::query(&sql).bind(group.as_str());
        for user in chunk {
            query = query.bind(*user);
        }
        added += query.execute(&mut *c).await?.rows_affected();
    }
    Ok(added)
}

pub(super) async fn remove_members(
    c: &mut Conn,
    group: &GroupId,
    users: &[UserId],
) -> Result<u64, StoreError> {
    let mut removed = 0;
    for chunk in distinct(users).chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM group_members WHERE group_id = $1 AND user_id IN ({})",
            super::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(&sql).bind(group.as_str());
        for user in chunk {
            query = query.bind(*user);
        }
        removed += query.execute(&mut *c).await?.rows_affected();
    }
    Ok(removed)
}

pub(super) async fn members_among(
    c: &mut Conn,
    group: &GroupId,
    users: &[UserId],
) -> Result<Vec<UserId>, StoreError> {
    let mut found = Vec::new();
    for chunk in distinct(users).chunks(CHUNK) {
        let sql = format!(
            "SELECT user_id FROM group_members WHERE group_id = $1 AND user_id IN ({})",
            super::placeholders(2, chunk.len())
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(group.as_str());
        for user in chunk {
            query = query.bind(*user);
        }
        found.extend(query.fetch_all(&mut *c).await?);
    }
    found.sort_unstable();
    Ok(found.into_iter().map(UserId::new).collect())
}

pub(super) async fn count_members(c: &mut Conn, group: &GroupId) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1")
        .bind(group.as_str())
        .fetch_one(c)
        .await?;
    Ok(u64::try_from(n).unwrap_or_default())
}

pub(super) async fn clear_members(c: &mut Conn, group: &GroupId) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(group.as_str())
        .execute(c)
        .await?
        .rows_affected())
}

pub(super) async fn members(
    c: &mut Conn,
    group: &GroupId,
    after: Option<&UserId>,
    limit: u32,
) -> Result<Vec<UserId>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM group_members WHERE group_id = $1 AND ($2 IS NULL OR user_id > $2) \
         ORDER BY user_id LIMIT $3",
    )
    .bind(group.as_str())
    .bind(after.map(UserId::as_str))
    .bind(page_size(limit))
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(UserId::new).collect())
}

pub(super) async fn refs_of_user(
    c: &mut Conn,
    user: &UserId,
) -> Result<Vec<IdpGroupRef>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(GROUP_REFS_OF_USER)
        .bind(user.as_str())
        .fetch_all(c)
        .await?;
    let mut refs: Vec<IdpGroupRef> = rows
        .into_iter()
        .map(|(display_name, external_id)| IdpGroupRef {
            display_name: display_name.into(),
            external_id: external_id.map(Into::into),
        })
        .collect();
    // Sorted here, not by the database: collations differ between engines.
    refs.sort();
    Ok(refs)
}

pub(super) async fn ids_of_user(c: &mut Conn, user: &UserId) -> Result<Vec<GroupId>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id",
    )
    .bind(user.as_str())
    .fetch_all(c)
    .await?;
    Ok(ids.into_iter().map(GroupId::new).collect())
}

pub(super) async fn names_of_user(
    c: &mut Conn,
    user: &UserId,
) -> Result<Vec<(GroupId, String)>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(GROUP_NAMES_OF_USER)
        .bind(user.as_str())
        .fetch_all(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| (GroupId::new(id), name))
        .collect())
}
