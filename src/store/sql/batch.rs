//! Group commit: concurrent write transactions share one database transaction, each inside
//! a SAVEPOINT of its own, and one COMMIT.
//!
//! Why: on SQLite every write is serialised on the single writer connection anyway, and
//! what a write transaction costs beyond its statements is the transaction itself — the
//! pool hand-over, `BEGIN IMMEDIATE`, and a COMMIT that appends every page the
//! transaction touched to the WAL (the same users/audit index pages, over and over). When
//! requests queue up behind the writer, one transaction for all of them writes those pages
//! once.
//!
//! How: one writer task owns the write pool. [`Batcher::begin`] queues a request and waits
//! for a [`Lease`]: the writer connection, inside the open batch transaction, after
//! `SAVEPOINT idp_sync_request`. The caller runs its reads and writes on it exactly as on a
//! transaction of its own, then
//! * commits: `RELEASE SAVEPOINT`, hands the connection back and waits until the batch
//!   COMMIT has returned — only then does its `commit()` return `Ok`;
//! * or rolls back, fails, or drops the lease: the writer runs
//!   `ROLLBACK TO SAVEPOINT; RELEASE SAVEPOINT`, which undoes exactly this request's work
//!   (a 409 on one user does not touch the others of the batch).
//!
//! The writer then leases the connection to the next queued request, if there is one
//! (never waiting for more: a lone request is committed at once) and the batch has fewer
//! than [`MAX_BATCH`] requests, else commits and answers every request of the batch with
//! the COMMIT's result.
//!
//! Why the promises of a transaction still hold:
//! * **All or nothing per request.** A request's work is either released into the batch
//!   and committed with it, or rolled back to its savepoint. If a `ROLLBACK TO` fails, the
//!   batch transaction is gone (the database rolled it back on an error such as a full
//!   disk): the batch is ended and every request released into it is answered with an
//!   error — their work was not committed. No request is ever answered `Ok` before the
//!   COMMIT that contains its work has succeeded.
//! * **Crash safety.** A crash before the COMMIT loses the whole batch, and no request of
//!   it has been answered; after it, the batch is durable exactly as a single transaction
//!   would be (SQLite WAL: atomic commit; the fsync policy is unchanged).
//! * **Isolation.** Requests of a batch run one after the other on one connection, each
//!   seeing its predecessors' work, as if each had committed before the next began: the
//!   same serial order the single writer connection gave before. Readers on the read pool
//!   see the batch when it commits, before any of its requests is answered.
//! * **Failure of the batch.** If the COMMIT fails, every request of the batch gets the
//!   error (the SCIM client retries), and none of their work is visible.
//!
//! A request must not call `begin()` again while it holds a lease (it would wait for
//! itself) — the same rule as with one writer connection.

use super::{Conn, Db};
use crate::store::api::StoreResult;
use crate::store::error::StoreError;
use sqlx::Pool;
use sqlx::pool::PoolConnection;
use tokio::sync::{mpsc, oneshot};

/// Requests per batch at most: bounds the latency a request can add to the others.
pub(super) const MAX_BATCH: usize = 64;

const SAVEPOINT: &str = "SAVEPOINT idp_sync_request";
const RELEASE: &str = "RELEASE SAVEPOINT idp_sync_request";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT idp_sync_request";

type LeaseReply = oneshot::Sender<StoreResult<Lease>>;
type CommitReply = oneshot::Sender<Result<(), String>>;

/// The handle on the writer task; dropping it (with the store) ends the task.
pub(super) struct Batcher {
    queue: mpsc::UnboundedSender<LeaseReply>,
}

impl Batcher {
    /// Starts the writer task on the current tokio runtime. `begin` is the statement that
    /// opens a batch (`BEGIN IMMEDIATE` on SQLite).
    pub(super) fn start(pool: Pool<Db>, begin: &'static str) -> Self {
        let (queue, requests) = mpsc::unbounded_channel();
        tokio::spawn(writer(pool, begin, requests));
        Self { queue }
    }

    /// Waits for this request's turn on the writer connection, at most [`WRITER_WAIT`]:
    /// past that the caller is told the store is busy (503 + Retry-After) instead of
    /// running into the HTTP request timeout. A lease granted after the caller gave up is
    /// dropped, which rolls its savepoint back.
    pub(super) async fn begin(&self) -> StoreResult<Lease> {
        let (reply, lease) = oneshot::channel();
        self.queue.send(reply).map_err(|_| closed())?;
        match tokio::time::timeout(WRITER_WAIT, lease).await {
            Ok(lease) => lease.map_err(|_| closed())?,
            Err(_) => Err(StoreError::Database(sqlx::Error::PoolTimedOut)),
        }
    }
}

/// How long a write waits for its turn on the single SQLite writer.
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// How a lease came back to the writer.
enum Outcome {
    /// Released into the batch; answered when the batch commits.
    Released(CommitReply),
    /// Rolled back, failed or dropped: undo it.
    Abandoned,
}

struct Returned {
    conn: PoolConnection<Db>,
    outcome: Outcome,
}

/// One request's turn on the writer connection, inside its savepoint. Dropping it without
/// [`Lease::commit`] rolls the request's work back.
pub(super) struct Lease {
    conn: Option<PoolConnection<Db>>,
    back: Option<oneshot::Sender<Returned>>,
}

impl Lease {
    pub(super) fn conn(&mut self) -> &mut Conn {
        match self.conn.as_mut() {
            Some(c) => c,
            // Only `commit`/`rollback`, which consume the lease, take the connection.
            None => unreachable_conn(),
        }
    }

    /// Releases the savepoint and waits for the batch COMMIT.
    pub(super) async fn commit(mut self) -> StoreResult<()> {
        let released = sqlx::query(RELEASE).execute(self.conn()).await;
        if let Err(e) = released {
            self.give_back(Outcome::Abandoned);
            return Err(e.into());
        }
        let (reply, committed) = oneshot::channel();
        self.give_back(Outcome::Released(reply));
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "group commit failed: {e}"
            )))),
            Err(_) => Err(closed()),
        }
    }

    pub(super) fn rollback(mut self) {
        self.give_back(Outcome::Abandoned);
    }

    fn give_back(&mut self, outcome: Outcome) {
        if let (Some(conn), Some(back)) = (self.conn.take(), self.back.take()) {
            // The writer waits for this; if it is gone, so is the batch.
            let _ = back.send(Returned { conn, outcome });
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.give_back(Outcome::Abandoned);
    }
}

#[allow(
    clippy::panic,
    reason = "an invariant of Lease: the connection is there until consumed"
)]
fn unreachable_conn() -> ! {
    panic!("lease used after commit or rollback")
}

async fn writer(
    pool: Pool<Db>,
    begin: &'static str,
    mut requests: mpsc::UnboundedReceiver<LeaseReply>,
) {
    'batches: while let Some(first) = requests.recv().await {
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                let _ = first.send(Err(e.into()));
                continue;
            }
        };
        if let Err(e) = sqlx::query(begin).execute(&mut *conn).await {
            let _ = first.send(Err(e.into()));
            continue;
        }
        let mut released: Vec<CommitReply> = Vec::new();
        let mut broken: Option<String> = None;
        let mut next = Some(first);
        while let Some(reply) = next.take() {
            if let Err(e) = sqlx::query(SAVEPOINT).execute(&mut *conn).await {
                broken = Some(e.to_string());
                let _ = reply.send(Err(e.into()));
                break;
            }
            let (back, returned) = oneshot::channel();
            // A requester that went away drops the lease, which comes back abandoned.
            let _ = reply.send(Ok(Lease {
                conn: Some(conn),
                back: Some(back),
            }));
            let Ok(Returned { conn: c, outcome }) = returned.await else {
                // Unreachable: a lease always comes back. Without the connection the
                // batch cannot be finished; its requests get an error.
                conn_lost(released);
                continue 'batches;
            };
            conn = c;
            match outcome {
                Outcome::Released(done) => released.push(done),
                Outcome::Abandoned => {
                    let undone = match sqlx::query(ROLLBACK_TO).execute(&mut *conn).await {
                        Ok(_) => sqlx::query(RELEASE).execute(&mut *conn).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = undone {
                        broken = Some(e.to_string());
                        break;
                    }
                }
            }
            if released.len() < MAX_BATCH {
                next = requests.try_recv().ok();
            }
        }
        if released.is_empty() && broken.is_some() {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            continue;
        }
        let result = match broken {
            Some(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(e)
            }
            None => match sqlx::query("COMMIT").execute(&mut *conn).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    // Leave the connection outside any transaction for the next batch.
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    Err(e.to_string())
                }
            },
        };
        for done in released {
            let _ = done.send(result.clone());
        }
    }
}

fn conn_lost(released: Vec<CommitReply>) {
    for done in released {
        let _ = done.send(Err("the writer connection was lost".to_owned()));
    }
}
