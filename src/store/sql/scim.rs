//! SCIM listing: a connection's users or groups, filtered by a translated SCIM filter,
//! sorted, counted and paged (see [`ScimListQuery`] for the paging contract).

use super::{Conn, DIALECT, Db, ts};
use crate::domain::{IdpGroup, User};
use crate::store::error::StoreError;
use crate::store::rows::{GroupRow, UserRow};
use crate::store::scim_filter::{self, Resource, SqlParam};
use crate::store::types::{ScimListQuery, ScimPage};
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{FromRow, IntoArguments};

const USER_COLUMNS: &str = "u.id, u.connection, u.user_name, u.external_id, u.sso_subject, \
    u.email, u.display_name, u.given_name, u.family_name, u.active, u.state, u.accepted_at, u.conflict, \
    u.scim, u.version, u.created_at, u.updated_at";
const GROUP_COLUMNS: &str =
    "g.id, g.connection, g.display_name, g.external_id, g.version, g.created_at, g.updated_at";

/// The statement pieces both queries share: FROM … WHERE … and its parameters ($1 is the
/// connection).
struct Selection {
    from_where: String,
    params: Vec<SqlParam>,
    order_by: String,
}

fn selection(q: &ScimListQuery, resource: Resource) -> Result<Selection, StoreError> {
    let (table, alias) = match resource {
        Resource::User => ("users", "u"),
        Resource::Group => ("idp_groups", "g"),
    };
    let mut from_where = format!("FROM {table} {alias} WHERE {alias}.connection = $1");
    let mut params = Vec::new();
    if let Some(filter) = &q.filter {
        let f = scim_filter::translate(filter, resource, DIALECT, 2)?;
        from_where.push_str(&format!(" AND ({})", f.sql));
        params = f.params;
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order_by = match &q.sort_by {
        Some(attr) => {
            let key = scim_filter::sort_key(attr, resource, DIALECT)?;
            // Missing values last in both directions (engines disagree on NULLS order).
            format!("({key}) IS NULL, {key} {dir}, {alias}.id {dir}")
        }
        None => format!("{alias}.created_at {dir}, {alias}.id {dir}"),
    };
    Ok(Selection {
        from_where,
        params,
        order_by,
    })
}

fn bind_as<'q, O>(
    mut query: QueryAs<'q, Db, O, <Db as sqlx::Database>::Arguments<'q>>,
    params: &[SqlParam],
) -> QueryAs<'q, Db, O, <Db as sqlx::Database>::Arguments<'q>>
where
    O: for<'r> FromRow<'r, <Db as sqlx::Database>::Row>,
    <Db as sqlx::Database>::Arguments<'q>: IntoArguments<'q, Db>,
{
    for p in params {
        query = match p {
            SqlParam::Text(s) => query.bind(s.clone()),
            SqlParam::Int(i) => query.bind(*i),
            SqlParam::Float(f) => query.bind(*f),
            SqlParam::Bool(b) => query.bind(*b),
            SqlParam::Time(t) => query.bind(ts(*t)),
        };
    }
    query
}

fn bind_scalar<'q>(
    mut query: QueryScalar<'q, Db, i64, <Db as sqlx::Database>::Arguments<'q>>,
    params: &[SqlParam],
) -> QueryScalar<'q, Db, i64, <Db as sqlx::Database>::Arguments<'q>> {
    for p in params {
        query = match p {
            SqlParam::Text(s) => query.bind(s.clone()),
            SqlParam::Int(i) => query.bind(*i),
            SqlParam::Float(f) => query.bind(*f),
            SqlParam::Bool(b) => query.bind(*b),
            SqlParam::Time(t) => query.bind(ts(*t)),
        };
    }
    query
}

async fn count(c: &mut Conn, q: &ScimListQuery, s: &Selection) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) {}", s.from_where);
    let query = sqlx::query_scalar::<Db, i64>(&sql).bind(q.connection.as_str());
    let n = bind_scalar(query, &s.params).fetch_one(c).await?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// `LIMIT`/`OFFSET` values: placeholders after the filter's.
fn paging(q: &ScimListQuery, s: &Selection) -> (String, i64, i64) {
    let n = s.params.len() + 2;
    let offset = i64::try_from(q.start_index.saturating_sub(1)).unwrap_or(i64::MAX);
    (
        format!(" LIMIT ${n} OFFSET ${}", n + 1),
        i64::from(q.count),
        offset,
    )
}

pub(super) async fn list_users(
    c: &mut Conn,
    q: &ScimListQuery,
) -> Result<ScimPage<User>, StoreError> {
    let s = selection(q, Resource::User)?;
    let total_results = count(&mut *c, q, &s).await?;
    if q.count == 0 || total_results == 0 {
        return Ok(ScimPage {
            total_results,
            items: Vec::new(),
        });
    }
    let (limit_offset, limit, offset) = paging(q, &s);
    let sql = format!(
        "SELECT {USER_COLUMNS} {} ORDER BY {}{limit_offset}",
        s.from_where, s.order_by
    );
    let query = sqlx::query_as::<Db, UserRow>(&sql).bind(q.connection.as_str());
    let items = bind_as(query, &s.params)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect::<Result<_, _>>()?;
    Ok(ScimPage {
        total_results,
        items,
    })
}

pub(super) async fn list_groups(
    c: &mut Conn,
    q: &ScimListQuery,
) -> Result<ScimPage<IdpGroup>, StoreError> {
    let s = selection(q, Resource::Group)?;
    let total_results = count(&mut *c, q, &s).await?;
    if q.count == 0 || total_results == 0 {
        return Ok(ScimPage {
            total_results,
            items: Vec::new(),
        });
    }
    let (limit_offset, limit, offset) = paging(q, &s);
    let sql = format!(
        "SELECT {GROUP_COLUMNS} {} ORDER BY {}{limit_offset}",
        s.from_where, s.order_by
    );
    let query = sqlx::query_as::<Db, GroupRow>(&sql).bind(q.connection.as_str());
    let items = bind_as(query, &s.params)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await?
        .into_iter()
        .map(IdpGroup::from)
        .collect();
    Ok(ScimPage {
        total_results,
        items,
    })
}
