//! The PostgreSQL engine: how to open the pool, and the few things in which PostgreSQL
//! differs from SQLite. Everything else is the shared code in `sql/`, compiled here with
//! `Db = Postgres`.
//!
//! Several idp-sync replicas may share one database, so reads inside a write transaction
//! that precede a write lock their rows (`FOR UPDATE`), and delivery workers claim
//! outbox rows with `FOR UPDATE SKIP LOCKED`.

use super::error::StoreError;
use super::types::Engine;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

type Db = sqlx::Postgres;
type Conn = sqlx::PgConnection;

const ENGINE: Engine = Engine::Postgres;
/// How SCIM filters read JSON and compare text on this engine.
const DIALECT: super::scim_filter::Dialect = super::scim_filter::Dialect::Postgres;
const FOR_UPDATE: &str = " FOR UPDATE";
const FOR_UPDATE_SKIP_LOCKED: &str = " FOR UPDATE OF d SKIP LOCKED";
/// Row locks for recomputing users. NO KEY UPDATE does not conflict with the KEY SHARE
/// locks that foreign keys take when memberships are inserted.
const FOR_NO_KEY_UPDATE: &str = " FOR NO KEY UPDATE";
/// A transaction-scoped advisory lock that serialises reads of "who holds the top role"
/// (the last-Administrator rule) with the writes that change it.
const ROLE_CHANGE_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(7301934201)");
/// PostgreSQL runs concurrent write transactions on connections of their own (row locks,
/// several replicas); each commits by itself. See BENCHMARKS.md for both measured.
const GROUP_COMMIT: bool = false;
const BEGIN_BATCH: &str = "BEGIN";
/// A user's groups as `(display_name, external_id)`, and as `(id, display_name)` in id
/// order. Each group looked up by primary key (the foreign key guarantees it is there):
/// written as a join (or `IN`, or `LATERAL`), the planner hashes all of `idp_groups` for
/// every user (0.12–0.22 ms against ≈ 0.04 ms with 1,000 groups, and growing with them).
const GROUP_REFS_OF_USER: &str = "SELECT \
    (SELECT g.display_name FROM idp_groups g WHERE g.id = m.group_id), \
    (SELECT g.external_id FROM idp_groups g WHERE g.id = m.group_id) \
    FROM group_members m WHERE m.user_id = $1";
const GROUP_NAMES_OF_USER: &str = "SELECT m.group_id, \
    (SELECT g.display_name FROM idp_groups g WHERE g.id = m.group_id) \
    FROM group_members m WHERE m.user_id = $1 ORDER BY m.group_id";
/// The groups of the user `u` as one JSON text, `[[id, displayName], …]` in id order (see
/// sqlite.rs). `json_agg` over no rows is NULL. Each name is looked up by primary key (the
/// foreign key guarantees it is there): written as a join, the planner hashes the whole
/// `idp_groups` table for every user (0.25 ms against 0.07 ms with 1,000 groups).
const USER_GROUPS_JSON: &str = "(SELECT COALESCE(json_agg(json_build_array(m.group_id, \
    (SELECT g.display_name FROM idp_groups g WHERE g.id = m.group_id)) \
    ORDER BY m.group_id)::text, '[]') FROM group_members m WHERE m.user_id = u.id)";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// TIMESTAMPTZ takes chrono values as they are.
fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t
}

/// What an `INSERT` into a table keyed by `seq` appends to return the new `seq`.
const SEQ_RETURNING: &str = " RETURNING seq";

/// Runs an `INSERT` ending in [`SEQ_RETURNING`] and returns the new row's `seq`.
async fn inserted_seq<'q>(
    c: &mut Conn,
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    query.fetch_one(c).await?.try_get(0)
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

// The same SQL, compiled for this engine: see sql/mod.rs.
#[allow(
    clippy::duplicate_mod,
    reason = "sql/ is compiled once per engine on purpose"
)]
#[path = "sql/mod.rs"]
mod sql;

pub(super) async fn connect(
    url: &str,
    max_connections: u32,
) -> Result<Arc<dyn super::Store>, StoreError> {
    let options =
        PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    Ok(Arc::new(sql::SqlStore::new(pool.clone(), pool)))
}
