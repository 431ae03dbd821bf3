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

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Timestamps are stored as fixed-width UTC text, so that text order is time order.
fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
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
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(std::time::Duration::from_secs(10))
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Arc::new(sql::SqlStore::new(read, write)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn timestamps_sort_as_text() {
        let a = DateTime::from_timestamp(1_700_000_000, 5_000).unwrap_or_default();
        let b = DateTime::from_timestamp(1_700_000_000, 120_000_000).unwrap_or_default();
        let c = DateTime::from_timestamp(1_700_000_001, 0).unwrap_or_default();
        assert!(ts(a) < ts(b) && ts(b) < ts(c));
        assert_eq!(ts(c).len(), ts(a).len());
    }
}
