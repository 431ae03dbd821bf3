//! Point reads of a SQLite file on the calling task: a user by id with its groups, and
//! user lists whose filter is an equality on an indexed, unique key (`userName`,
//! `externalId` or `id eq "…"`). These are what IdPs send in a loop (Okta checks
//! `userName eq` before every create; Entra matches on `userName` or `externalId`), and
//! each is one or two B-tree lookups of a few microseconds. Through sqlx every statement
//! is a round trip to a connection's worker thread, which cost more than the lookup
//! itself (two thirds of a `GET /Users/{id}`'s instructions, and its context switches);
//! here the statement runs on the request's own task, on a connection kept for the
//! purpose, its statements prepared once.
//!
//! Why blocking the task is sound here: only these bounded lookups run this way (at most
//! one row by a unique index, plus the user's memberships by the `(user_id, group_id)`
//! index); every other query stays on the pool. A reader in WAL mode never waits for the
//! writer, and these connections never wait for a lock (`busy_timeout` 0): a busy file
//! (WAL recovery after a crash, say) or any other error answers `None`, and the caller
//! takes the pooled path, which waits on its own worker thread and reports errors as usual.
//!
//! Connections are opened read-write without `CREATE` (a read-only handle cannot
//! recover the WAL index after a crash) with `query_only`, and at most [`KEEP_IDLE`] are
//! kept between requests: as many as requests can run this code at once on a runtime
//! the size of the machine, without holding a page cache each for the pool's peak.
//!
//! Each connection keeps the display names of the groups it has read ([`GroupNames`]):
//! a user's groups are then its memberships (one range of the `(user_id, group_id)`
//! index) and names from memory, not one index descent per group (two thirds of the
//! pages a `GET /Users/{id}` touched). The names are valid for one value of
//! `idp_groups_generation`, which every rename moves in its own transaction (migration
//! 0010); each read compares it in its own snapshot, so a name is never older than the
//! snapshot it is shown with.

use super::GROUP_NAMES_OF_USER;
use crate::domain::{ConnectionId, UserId};
use crate::scim::{AttrPath, CompValue, CompareOp, Filter};
use crate::store::api::PointReads;
use crate::store::scim_filter::{self, Dialect, Resource, SqlParam};
use crate::store::types::{ScimListQuery, ScimPage, UserDoc};
use rusqlite::{Connection, OpenFlags, Row};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// Connections kept open between requests.
const KEEP_IDLE: usize = 4;
/// Group names a connection keeps at most (≈ 150 bytes each); past it they are dropped and
/// read again.
const GROUP_NAMES_MAX: usize = 20_000;

const GROUPS_GENERATION: &str = "SELECT value FROM idp_groups_generation WHERE id = 1";

const USER_COLUMNS: &str = "u.id, u.connection, u.user_name, u.external_id, u.active, \
    u.version, u.created_at, u.updated_at, u.scim";
/// `SELECT {USER_COLUMNS} … WHERE u.id = $1`, spelled out (a constant, not a `format!`
/// per request).
const USER_BY_ID: &str = "SELECT u.id, u.connection, u.user_name, u.external_id, u.active, \
    u.version, u.created_at, u.updated_at, u.scim FROM users u WHERE u.id = $1";
/// The ids of the groups of the user `u` from the `(user_id, group_id)` index alone, as
/// text: their number, a colon, and the ids joined by commas (`2:id1,id2`), which
/// [`group_ids`] splits. (`json_group_array` costs three times as much: it quotes each id,
/// and a parse unquotes them.)
const GROUP_IDS: &str = "(SELECT count(*) || ':' || coalesce(group_concat(m.group_id, ','), '') \
    FROM group_members m WHERE m.user_id = u.id)";

/// The ids in [`GROUP_IDS`]' text; `None` when an id holds a comma (there are more pieces
/// than ids), or the text has another form.
fn group_ids(text: &str) -> Option<Vec<&str>> {
    let (count, ids) = text.split_once(':')?;
    let count: usize = count.parse().ok()?;
    if count == 0 {
        return ids.is_empty().then(Vec::new);
    }
    let mut pieces = Vec::with_capacity(count);
    let mut start = 0;
    // `memchr`'s vectorised search: `str::split` went byte by byte, ≈ 2,000 instructions
    // for a user's ten ids.
    for comma in memchr::memchr_iter(b',', ids.as_bytes()) {
        pieces.push(ids.get(start..comma)?);
        start = comma + 1;
    }
    pieces.push(ids.get(start..)?);
    (pieces.len() == count).then_some(pieces)
}

/// One statement that reads the users `WHERE {condition}` (on `u`), each in one row: its
/// [`USER_COLUMNS`], the rename counter ([`GROUPS_GENERATION`]) and its group ids
/// ([`GROUP_IDS`]).
///
/// One row per user, not one per membership: each result row costs a step of the VM
/// and a read of its columns. (A join would also copy the user's JSON text into every
/// membership row; a `UNION ALL` of user and membership rows was the form before this
/// one, about 1,900 instructions per membership row.)
fn users_with_group_ids(condition: &str) -> String {
    format!(
        "SELECT {USER_COLUMNS}, ({GROUPS_GENERATION}), {GROUP_IDS} FROM users u WHERE {condition}"
    )
}

/// [`users_with_group_ids`] of the user `$1`.
static USER_WITH_GROUP_IDS_BY_ID: LazyLock<String> =
    LazyLock::new(|| users_with_group_ids("u.id = $1"));

pub(in crate::store) struct PointReader {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
}

/// A connection and the group names it has read.
struct Reader {
    conn: Connection,
    names: GroupNames,
}

/// Display names by group id, as of `generation` of `idp_groups_generation`. Ids and names
/// are shared with the documents read: a reference count each, not two copies per
/// membership.
///
/// The map hashes with foldhash: its keys are ids this server generated, read from its own
/// database, so SipHash's resistance to chosen keys buys nothing here, and it cost ≈ 240
/// instructions per lookup (ten per user read).
#[derive(Default)]
struct GroupNames {
    generation: i64,
    by_id: HashMap<Arc<str>, Arc<str>, foldhash::fast::RandomState>,
}

/// A user's groups as [`UserDoc::groups`] holds them.
type Groups = Vec<(Arc<str>, Arc<str>)>;

impl PointReader {
    pub(in crate::store) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<Reader> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Never wait on the task: a busy database answers at once, and the caller takes the
        // pool, which waits on a worker thread of its own.
        conn.busy_timeout(Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(Reader {
            conn,
            names: GroupNames::default(),
        })
    }

    /// Runs `read` on an idle connection (or a new one); `None` on any error, logged.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&mut Reader) -> rusqlite::Result<T>,
    ) -> Option<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut reader = match idle {
            Some(reader) => reader,
            None => match self.open() {
                Ok(reader) => reader,
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite point read: cannot open the database; using the pool");
                    return None;
                }
            },
        };
        let result = read(&mut reader);
        // A connection whose read failed is closed, not kept: the failure may have left it
        // inside its read transaction.
        if result.is_ok() {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < KEEP_IDLE {
                idle.push(reader);
            }
        }
        match result {
            Ok(value) => Some(value),
            Err(e) if is_busy(&e) => {
                tracing::debug!(error = %e, "SQLite point read: database busy; using the pool");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "SQLite point read failed; using the pool");
                None
            }
        }
    }
}

/// Runs `read` in one read transaction (one snapshot). `BEGIN` and `COMMIT` are prepared
/// once, like the queries (rusqlite's `Transaction` parses them on every call).
fn in_snapshot<T>(
    conn: &Connection,
    read: impl FnOnce() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached("BEGIN")?.execute([])?;
    let result = read();
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = conn
        .prepare_cached(end)
        .and_then(|mut statement| statement.execute([]));
    let value = result?;
    ended?;
    Ok(value)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn user_doc(row: &Row<'_>) -> rusqlite::Result<UserDoc> {
    Ok(UserDoc {
        id: UserId::new(row.get::<_, String>(0)?),
        connection: ConnectionId::new(row.get::<_, String>(1)?),
        user_name: row.get(2)?,
        external_id: row.get(3)?,
        active: row.get(4)?,
        version: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
        scim: row.get(8)?,
        groups: Vec::new(),
    })
}

/// The users of a one-statement read ([`users_with_group_ids`]), their groups named from
/// `names` and in id order. `None` when a name is not in memory or not of this snapshot's
/// generation (or a group id holds a comma): the caller then reads again in a
/// read transaction, through [`groups_of`], which refreshes the names.
///
/// One statement is one snapshot, without `BEGIN` and `COMMIT` around it: a user, its
/// memberships and the rename counter are read as of the same commit.
fn users_with_known_groups(
    mut rows: rusqlite::Rows<'_>,
    names: &GroupNames,
) -> rusqlite::Result<Option<Vec<UserDoc>>> {
    let mut docs: Vec<UserDoc> = Vec::new();
    while let Some(row) = rows.next()? {
        if row.get::<_, i64>(9)? != names.generation {
            return Ok(None);
        }
        let ids = row.get_ref(10)?.as_str().map_err(rusqlite::Error::from)?;
        let Some(ids) = group_ids(ids) else {
            return Ok(None);
        };
        let mut doc = user_doc(row)?;
        doc.groups.reserve_exact(ids.len());
        for id in ids {
            let Some((id, name)) = names.by_id.get_key_value(id) else {
                return Ok(None);
            };
            doc.groups.push((id.clone(), name.clone()));
        }
        doc.groups.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
        docs.push(doc);
    }
    Ok(Some(docs))
}

/// The user's groups with their names, read in the caller's snapshot by the join; the
/// names refresh the connection's memory. The callers come here when the one-statement
/// read ([`users_with_known_groups`]) found a name missing or stale, so memory is not
/// tried again.
fn groups_of(conn: &Connection, names: &mut GroupNames, user: &UserId) -> rusqlite::Result<Groups> {
    let generation: i64 = conn
        .prepare_cached(GROUPS_GENERATION)?
        .query_row([], |row| row.get(0))?;
    if generation > names.generation {
        names.generation = generation;
        names.by_id.clear();
    }
    let groups = groups_by_join(conn, user)?;
    // Only names of the generation this connection keeps (an older snapshot's are not).
    if generation == names.generation {
        if names.by_id.len() + groups.len() > GROUP_NAMES_MAX {
            names.by_id.clear();
        }
        for (id, name) in &groups {
            names.by_id.insert(id.clone(), name.clone());
        }
    }
    Ok(groups)
}

fn groups_by_join(conn: &Connection, user: &UserId) -> rusqlite::Result<Groups> {
    let mut statement = conn.prepare_cached(GROUP_NAMES_OF_USER)?;
    let rows = statement.query_map([user.as_str()], |row| {
        let id = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let name = row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?;
        Ok((Arc::from(id), Arc::from(name)))
    })?;
    rows.collect()
}

/// Whether `filter` is an equality on a key that is unique within a connection, so that
/// it selects at most one user by an index.
fn is_unique_key_equality(filter: &Filter) -> bool {
    match filter {
        Filter::Compare {
            attr,
            op: CompareOp::Eq,
            value: CompValue::String(_),
        } => is_core_attribute(attr, &["userName", "externalId", "id"]),
        _ => false,
    }
}

fn is_core_attribute(attr: &AttrPath, names: &[&str]) -> bool {
    attr.sub_attr.is_none()
        && attr
            .schema
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(crate::scim::schema::USER_SCHEMA))
        && names.iter().any(|n| n.eq_ignore_ascii_case(&attr.name))
}

fn sql_value(param: &SqlParam) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match param {
        SqlParam::Text(s) => V::Text(s.clone()),
        SqlParam::Int(i) => V::Integer(*i),
        SqlParam::Float(f) => V::Real(*f),
        SqlParam::Bool(b) => V::Integer(i64::from(*b)),
        SqlParam::Time(t) => V::Text(super::ts(*t)),
    }
}

impl PointReads for PointReader {
    fn user(&self, id: &UserId) -> Option<Option<UserDoc>> {
        self.with_connection(|reader| {
            let Reader { conn, names } = reader;
            // Usually one statement: the user, its memberships and names from memory.
            let mut statement = conn.prepare_cached(&USER_WITH_GROUP_IDS_BY_ID)?;
            if let Some(docs) = users_with_known_groups(statement.query([id.as_str()])?, names)? {
                return Ok(docs.into_iter().next());
            }
            drop(statement);
            // A name to read: the user and its groups in one read transaction.
            in_snapshot(conn, || {
                let mut statement = conn.prepare_cached(USER_BY_ID)?;
                let mut rows = statement.query_map([id.as_str()], user_doc)?;
                let Some(mut doc) = rows.next().transpose()? else {
                    return Ok(None);
                };
                drop(rows);
                doc.groups = groups_of(conn, names, &doc.id)?;
                Ok(Some(doc))
            })
        })
    }

    fn users(&self, q: &ScimListQuery, with_groups: bool) -> Option<ScimPage<UserDoc>> {
        let filter = q.filter.as_ref().filter(|f| is_unique_key_equality(f))?;
        let translated = scim_filter::translate(filter, Resource::User, Dialect::Sqlite, 2).ok()?;
        let condition = format!("u.connection = $1 AND ({})", translated.sql);
        let params = || {
            std::iter::once(rusqlite::types::Value::Text(
                q.connection.as_str().to_owned(),
            ))
            .chain(translated.params.iter().map(sql_value))
        };
        // A unique key: at most one user, so the total is the number of users read.
        let page = |all: Vec<UserDoc>| {
            let total_results = all.len() as u64;
            let offset = usize::try_from(q.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
            ScimPage {
                total_results,
                items: all
                    .into_iter()
                    .skip(offset)
                    .take(q.count as usize)
                    .collect(),
            }
        };
        self.with_connection(|reader| {
            let Reader { conn, names } = reader;
            if with_groups {
                // Usually one statement: the users, their memberships and names from memory.
                let sql = users_with_group_ids(&condition);
                let mut statement = conn.prepare_cached(&sql)?;
                let rows = statement.query(rusqlite::params_from_iter(params()))?;
                if let Some(all) = users_with_known_groups(rows, names)? {
                    return Ok(page(all));
                }
            }
            let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE {condition}");
            // The page and its users' groups from one snapshot.
            in_snapshot(conn, || {
                let mut statement = conn.prepare_cached(&sql)?;
                let all = statement
                    .query_map(rusqlite::params_from_iter(params()), user_doc)?
                    .collect::<rusqlite::Result<Vec<UserDoc>>>()?;
                let mut page = page(all);
                if with_groups {
                    for doc in &mut page.items {
                        doc.groups = groups_of(conn, names, &doc.id)?;
                    }
                }
                Ok(page)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_by_id_selects_the_same_columns() {
        assert_eq!(
            USER_BY_ID,
            format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1")
        );
    }

    #[test]
    fn group_ids_split_only_when_the_count_agrees() {
        assert_eq!(group_ids("0:"), Some(vec![]));
        assert_eq!(group_ids("1:g1"), Some(vec!["g1"]));
        assert_eq!(group_ids("2:g1,g2"), Some(vec!["g1", "g2"]));
        // An id with a comma in it: more pieces than memberships.
        assert_eq!(group_ids("2:g,1,g2"), None);
        assert_eq!(group_ids("1:"), Some(vec![""]));
        for bad in ["", "x:g1", "0:g1", "3:g1,g2", "g1"] {
            assert_eq!(group_ids(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_unique_key_equalities_are_point_reads() {
        for (text, point) in [
            (r#"userName eq "a@b.c""#, true),
            (r#"USERNAME eq "a@b.c""#, true),
            (r#"externalId eq "x""#, true),
            (r#"id eq "x""#, true),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
                true,
            ),
            (r#"userName ne "a""#, false),
            (r#"userName co "a""#, false),
            (r#"displayName eq "a""#, false),
            (r#"emails.value eq "a""#, false),
            (r#"userName eq "a" or userName eq "b""#, false),
            ("active eq true", false),
        ] {
            let filter = Filter::parse(text).unwrap();
            assert_eq!(is_unique_key_equality(&filter), point, "{text}");
        }
    }
}
