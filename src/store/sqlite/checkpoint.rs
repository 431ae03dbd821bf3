//! WAL checkpoints off the write path.
//!
//! By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages: the
//! single writer connection then copies every page of the WAL into the database file and
//! syncs it while every write request waits. On the load benchmark that was about a third
//! of a create's system calls (the rest: two `pwrite`s per WAL frame) and its worst
//! latencies; with the checkpoint here, POST /Users p99 fell from 6–11 ms to 4–6.5 ms at
//! the same throughput (BENCHMARKS.md).
//!
//! Here a thread of its own runs `PRAGMA wal_checkpoint(PASSIVE)` on its own connection
//! when the WAL has grown past [`CHECKPOINT_AT`] bytes and was written since the last
//! checkpoint, looking every [`INTERVAL`]. A
//! passive checkpoint never waits for readers or the writer; the writer keeps appending
//! meanwhile and starts the WAL over once everything in it is checkpointed. The writer
//! connection keeps SQLite's own checkpoint as a backstop at [`WRITER_BACKSTOP_PAGES`]
//! (should this thread fall behind or fail), far above where this one acts.
//!
//! The thread ends when the store is dropped (the sender it listens to goes away).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// How often the WAL's size is looked at.
const INTERVAL: Duration = Duration::from_millis(100);
/// The WAL size past which a checkpoint runs: SQLite's default of 1,000 pages of 4 KiB.
const CHECKPOINT_AT: u64 = 4 * 1024 * 1024;
/// The writer's own `wal_autocheckpoint`, in pages: a backstop only.
pub(super) const WRITER_BACKSTOP_PAGES: u32 = 20_000;

/// The running checkpoint thread; dropping it stops the thread.
pub(in crate::store) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

impl Checkpointer {
    pub(in crate::store) fn start(database: PathBuf) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("idp-sync-checkpoint".into())
            .spawn(move || run(&database, &stopped))?;
        Ok(Self { _stop: stop })
    }
}

fn wal_of(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

fn run(database: &Path, stopped: &mpsc::Receiver<()>) {
    let wal = wal_of(database);
    let mut conn: Option<rusqlite::Connection> = None;
    // The WAL's modification time at the last checkpoint: unchanged means nothing new to
    // copy (the file is reused from its start after a checkpoint, never shrunk, so its
    // size alone says how large it once grew).
    let mut checkpointed_at = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        let Ok(meta) = std::fs::metadata(&wal) else {
            continue;
        };
        let modified = meta.modified().ok();
        if meta.len() < CHECKPOINT_AT || (modified.is_some() && modified == checkpointed_at) {
            continue;
        }
        if conn.is_none() {
            conn = match rusqlite::Connection::open_with_flags(
                database,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            ) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint: cannot open the database");
                    continue;
                }
            };
        }
        let Some(c) = &conn else { continue };
        // (busy, frames in the WAL, frames checkpointed); PASSIVE never waits.
        let result = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        });
        match result {
            Ok((_, frames, done)) => {
                tracing::trace!(frames, done, "WAL checkpoint");
                checkpointed_at = modified;
            }
            Err(e) => {
                tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_is_next_to_the_database() {
        assert_eq!(
            wal_of(Path::new("/var/lib/idp-sync/idp-sync.db")),
            PathBuf::from("/var/lib/idp-sync/idp-sync.db-wal")
        );
    }
}
