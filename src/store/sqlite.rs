//! The SQLite engine: how to open the database file, and the few things in which SQLite
//! differs from PostgreSQL. Everything else is the shared code in `sql/`, compiled here
//! with `Db = Sqlite`.
//!
//! Writers: SQLite allows one writer at a time, and a transaction that starts as a reader
//! and later writes can fail with SQLITE_BUSY instead of waiting. So every write
//! transaction runs on a separate single-connection writer pool and starts with
//! `BEGIN IMMEDIATE` (taking the write lock up front, waiting on `busy_timeout` for other
//! processes such as a CLI command); reads use their own pool and see the last commit
//! (WAL).

use super::error::StoreError;
use super::types::Engine;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Transaction};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

type Db = sqlx::Sqlite;
type Conn = sqlx::SqliteConnection;

const ENGINE: Engine = Engine::Sqlite;
/// How SCIM filters read JSON and compare text on this engine.
const DIALECT: super::scim_filter::Dialect = super::scim_filter::Dialect::Sqlite;
/// Writers are serialised by `BEGIN IMMEDIATE`: a plain read inside a write transaction
/// is already as good as a row lock.
const FOR_UPDATE: &str = "";
const FOR_UPDATE_SKIP_LOCKED: &str = "";
/// Row locks for recomputing users: the single writer already serialises them.
const FOR_NO_KEY_UPDATE: &str = "";
/// Serialises changes to who holds the top role: the single writer already does.
const ROLE_CHANGE_LOCK: Option<&str> = None;
/// Concurrent write transactions share one SQLite transaction (see `sql/batch.rs`): the
/// writer is a single connection anyway, and a batch appends each touched page to the WAL
/// once instead of once per request.
const GROUP_COMMIT: bool = true;
/// How a batch of write transactions begins: take the write lock up front.
const BEGIN_BATCH: &str = "BEGIN IMMEDIATE";
/// A user's groups as `(display_name, external_id)`, and as `(id, display_name)` in id
/// order: a join, which SQLite runs as a primary-key lookup per membership.
const GROUP_REFS_OF_USER: &str = "SELECT g.display_name, g.external_id FROM group_members m \
    JOIN idp_groups g ON g.id = m.group_id WHERE m.user_id = $1";
/// The join reads the names from the `(id, display_name)` index alone (migration 0009);
/// without statistics the planner would take the primary key's index and visit the table.
const GROUP_NAMES_OF_USER: &str = "SELECT m.group_id, g.display_name FROM group_members m \
    JOIN idp_groups g INDEXED BY idp_groups_id_display_name_idx ON g.id = m.group_id \
    WHERE m.user_id = $1 ORDER BY m.group_id";
/// The groups of the user `u` as one JSON text, `[[id, displayName], …]` in id order, so
/// that a user and its groups are one statement (one round trip to the connection's
/// worker thread). `json_group_array` over no rows is `[]`.
const USER_GROUPS_JSON: &str = "(SELECT json_group_array(json_array(m.group_id, \
    g.display_name) ORDER BY m.group_id) FROM group_members m \
    JOIN idp_groups g INDEXED BY idp_groups_id_display_name_idx ON g.id = m.group_id \
    WHERE m.user_id = u.id)";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Timestamps are stored as fixed-width UTC text, so that text order is time order:
/// `2026-11-21T10:00:00.000000Z`, as `%Y-%m-%dT%H:%M:%S%.6fZ` writes it. Written digit by
/// digit (every write binds two or three of them; chrono's `format` parses its pattern
/// each time); years outside 0–9999 and leap seconds take chrono's way.
fn ts(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    const PATTERN: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";
    let (year, nanos) = (t.year(), t.nanosecond());
    let Ok(year) = u32::try_from(year) else {
        return t.format(PATTERN).to_string();
    };
    if year > 9999 || nanos >= 1_000_000_000 {
        return t.format(PATTERN).to_string();
    }
    let mut out = String::with_capacity(27);
    push_digits(&mut out, year, 4);
    for (sep, value, width) in [
        ('-', t.month(), 2),
        ('-', t.day(), 2),
        ('T', t.hour(), 2),
        (':', t.minute(), 2),
        (':', t.second(), 2),
        ('.', nanos / 1_000, 6),
    ] {
        out.push(sep);
        push_digits(&mut out, value, width);
    }
    out.push('Z');
    out
}

/// `value` in decimal, zero-padded to `width` digits (`value` < 10^`width`).
fn push_digits(out: &mut String, value: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (value / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// What an `INSERT` into a table keyed by `seq` appends to return the new `seq`: nothing
/// here, [`inserted_seq`] reads the rowid instead (`RETURNING` makes SQLite buffer the
/// rows in an ephemeral table, opened and dropped for every statement).
const SEQ_RETURNING: &str = "";

/// Runs an `INSERT` ending in [`SEQ_RETURNING`] and returns the new row's `seq`: its
/// rowid (`seq` is the `INTEGER PRIMARY KEY`).
async fn inserted_seq<'q>(
    c: &mut Conn,
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
) -> Result<i64, sqlx::Error> {
    Ok(query.execute(c).await?.last_insert_rowid())
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

// The same SQL, compiled for this engine: see sql/mod.rs.
#[allow(
    clippy::duplicate_mod,
    reason = "sql/ is compiled once per engine on purpose"
)]
#[path = "sql/mod.rs"]
mod sql;

mod checkpoint;
mod point;

/// Where a `sqlite:` URL points.
#[derive(Debug, PartialEq, Eq)]
enum Location {
    Memory,
    File(PathBuf),
}

/// `sqlite::memory:`, `sqlite://relative/path.db` (against the working directory),
/// `sqlite:///absolute/path.db`, or `sqlite:path.db`. A `?query` is ignored.
fn location(url: &str) -> Result<Location, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::InvalidUrl(format!("not a sqlite url: {url}")))?;
    let rest = rest.split('?').next().unwrap_or_default();
    match rest {
        ":memory:" => Ok(Location::Memory),
        "" => Err(StoreError::InvalidUrl(format!("no file name in {url}"))),
        path => Ok(Location::File(PathBuf::from(path))),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, StoreError> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

pub(super) async fn connect(
    url: &str,
    max_connections: u32,
) -> Result<Arc<dyn super::Store>, StoreError> {
    let options = SqliteConnectOptions::new()
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .synchronous(SqliteSynchronous::Normal);
    match location(url)? {
        Location::Memory => {
            // One connection holds the whole database: it must never be closed, and
            // reads share it with writes (unit tests only).
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|e| StoreError::InvalidUrl(e.to_string()))?
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            Ok(Arc::new(sql::SqlStore::new(pool.clone(), pool)))
        }
        Location::File(path) => {
            let path = absolute(&path)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let options = options
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            // A connection to a local file cannot go stale: no ping round trip to the
            // connection's worker thread before every use.
            // Checkpoints run on a thread of their own (checkpoint.rs); the writer's are a
            // backstop.
            let write_options = options.clone().pragma(
                "wal_autocheckpoint",
                checkpoint::WRITER_BACKSTOP_PAGES.to_string(),
            );
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(write_options)
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(std::time::Duration::from_secs(10))
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            let checkpointer = checkpoint::Checkpointer::start(path.clone())?;
            let point = point::PointReader::new(path);
            Ok(Arc::new(
                sql::SqlStore::new(read, write)
                    .with_point_reads(Box::new(point))
                    .with_background(Box::new(checkpointer)),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds the bundled SQLite without the shared page cache and
    /// without memory statistics (two global mutexes on every page a point read touches);
    /// a build that lost the flags (say, `LIBSQLITE3_FLAGS` set in the environment, which
    /// wins over the file) fails here rather than only in the benchmark.
    #[test]
    fn sqlite_is_built_without_global_cache_and_statistics_mutexes() -> rusqlite::Result<()> {
        let conn = rusqlite::Connection::open_in_memory()?;
        let mut statement = conn.prepare("PRAGMA compile_options")?;
        let options = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        Ok(())
    }

    #[test]
    fn urls_name_files_or_memory() {
        assert_eq!(location("sqlite::memory:").ok(), Some(Location::Memory));
        assert_eq!(
            location("sqlite://data/idp-sync.db").ok(),
            Some(Location::File("data/idp-sync.db".into()))
        );
        assert_eq!(
            location("sqlite:///var/lib/idp-sync/idp-sync.db").ok(),
            Some(Location::File("/var/lib/idp-sync/idp-sync.db".into()))
        );
        assert_eq!(
            location("sqlite:x.db?mode=rwc").ok(),
            Some(Location::File("x.db".into()))
        );
        assert!(location("sqlite://").is_err());
        assert!(location("postgres://x").is_err());
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let pattern = "%Y-%m-%dT%H:%M:%S%.6fZ";
        let mut samples = vec![
            DateTime::from_timestamp(0, 0),
            DateTime::from_timestamp(1_700_000_000, 5_000),
            DateTime::from_timestamp(1_700_000_000, 999_999_999),
            DateTime::from_timestamp(-62_167_219_200, 0), // year 0
            DateTime::from_timestamp(253_402_300_799, 999_999_000), // 9999-12-31
            DateTime::from_timestamp(253_402_300_800, 0), // year 10000
            DateTime::from_timestamp(-62_167_219_201, 0), // year -1
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000), // a leap second
        ];
        let mut x: i64 = 12_345;
        for _ in 0..2_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let secs = (x >> 20).rem_euclid(4_102_444_800);
            samples.push(DateTime::from_timestamp(secs, (x as u32) % 1_000_000_000));
        }
        for t in samples.into_iter().flatten() {
            assert_eq!(ts(t), t.format(pattern).to_string(), "{t:?}");
        }
    }

    #[test]
    fn timestamps_sort_as_text() {
        let a = DateTime::from_timestamp(1_700_000_000, 5_000).unwrap_or_default();
        let b = DateTime::from_timestamp(1_700_000_000, 120_000_000).unwrap_or_default();
        let c = DateTime::from_timestamp(1_700_000_001, 0).unwrap_or_default();
        assert!(ts(a) < ts(b) && ts(b) < ts(c));
        assert_eq!(ts(c).len(), ts(a).len());
    }
}
