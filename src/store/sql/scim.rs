//! SCIM listing: a connection's users or groups, filtered by a translated SCIM filter,
//! sorted, counted and paged (see [`ScimListQuery`] for the paging contract).

use super::{Conn, DIALECT, Db, USER_GROUPS_JSON, ts};
use crate::domain::{GroupId, IdpGroup, User};
use crate::store::error::StoreError;
use crate::store::rows::{GroupRow, UserRow, UserWithGroupsRow};
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
    page_of(c, q, Resource::User, USER_COLUMNS, |r: UserRow| {
        User::try_from(r)
    })
    .await
}

/// [`list_users`], each user with its groups (the engine's `USER_GROUPS_JSON`).
pub(super) async fn list_users_with_groups(
    c: &mut Conn,
    q: &ScimListQuery,
) -> Result<ScimPage<(User, Vec<(GroupId, String)>)>, StoreError> {
    let columns = format!("{USER_COLUMNS}, {USER_GROUPS_JSON} AS groups");
    page_of(c, q, Resource::User, &columns, |r: UserWithGroupsRow| {
        r.try_into()
    })
    .await
}

pub(super) async fn list_groups(
    c: &mut Conn,
    q: &ScimListQuery,
) -> Result<ScimPage<IdpGroup>, StoreError> {
    page_of(c, q, Resource::Group, GROUP_COLUMNS, |r: GroupRow| {
        Ok(IdpGroup::from(r))
    })
    .await
}

/// One page and the total. The page is read first: when it is neither empty nor full it
/// tells the total itself (`offset + its length`; no match at all when the first page is
/// empty), and the `COUNT` statement runs only when it does not — a full page, or a page
/// past the end. Like the two statements before, the page and the count are not one
/// snapshot: a concurrent write may land between them.
async fn page_of<R, T>(
    c: &mut Conn,
    q: &ScimListQuery,
    resource: Resource,
    columns: &str,
    convert: impl Fn(R) -> Result<T, StoreError>,
) -> Result<ScimPage<T>, StoreError>
where
    R: for<'r> FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
{
    let s = selection(q, resource)?;
    if q.count == 0 {
        return Ok(ScimPage {
            total_results: count(&mut *c, q, &s).await?,
            items: Vec::new(),
        });
    }
    let (limit_offset, limit, offset) = paging(q, &s);
    let sql = format!(
        "SELECT {columns} {} ORDER BY {}{limit_offset}",
        s.from_where, s.order_by
    );
    let query = sqlx::query_as::<Db, R>(&sql).bind(q.connection.as_str());
    let items = bind_as(query, &s.params)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(convert)
        .collect::<Result<Vec<T>, _>>()?;
    let total_results = match total_from_page(offset, limit, items.len()) {
        Some(total) => total,
        None => count(&mut *c, q, &s).await?,
    };
    Ok(ScimPage {
        total_results,
        items,
    })
}

/// The total a page tells by itself: a page that is neither empty nor full is the last
/// one; an empty first page means no match.
fn total_from_page(offset: i64, limit: i64, len: usize) -> Option<u64> {
    let len = i64::try_from(len).ok()?;
    let tells = (len > 0 && len < limit) || (len == 0 && offset == 0);
    tells.then(|| u64::try_from(offset.saturating_add(len)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::total_from_page;

    #[test]
    fn a_page_tells_the_total_only_when_it_is_the_last_one() {
        assert_eq!(total_from_page(0, 100, 0), Some(0));
        assert_eq!(total_from_page(0, 100, 1), Some(1));
        assert_eq!(total_from_page(200, 100, 37), Some(237));
        // Full: more may follow. Empty past the start: how far past is unknown.
        assert_eq!(total_from_page(0, 100, 100), None);
        assert_eq!(total_from_page(200, 100, 0), None);
    }
}
