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
//! * commits: hands the connection back and waits until the batch COMMIT has returned —
//!   only then does its `commit()` return `Ok`; the writer runs `RELEASE SAVEPOINT`;
//! * or rolls back, fails, or drops the lease: the writer runs
//!   `ROLLBACK TO SAVEPOINT; RELEASE SAVEPOINT`, which undoes exactly this request's work
//!   (a 409 on one user does not touch the others of the batch).
//!
//! The writer then leases the connection to the next queued request, if there is one
//! (never waiting for more: a lone request is committed at once) and the batch has fewer
//! than [`MAX_BATCH`] requests, else commits and answers every request of the batch with
//! the COMMIT's result.
//!
//! Every statement is a round trip to the connection's worker thread, so the writer sends
//! what follows a request as one: `RELEASE` (or `ROLLBACK TO; RELEASE`) together with the
//! next request's `SAVEPOINT`, or with the `COMMIT`; `BEGIN IMMEDIATE` together with the
//! first `SAVEPOINT`. When such a pair fails it is not known how far it got, so the batch
//! is rolled back whole and every request in it (and the next one) is answered with the
//! error.
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

    /// Hands the connection back for the writer to release the savepoint, and waits for
    /// the batch COMMIT.
    pub(super) async fn commit(mut self) -> StoreResult<()> {
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
    let open_batch = format!("{begin}; {SAVEPOINT}");
    let release_and_next = format!("{RELEASE}; {SAVEPOINT}");
    let undo_and_next = format!("{ROLLBACK_TO}; {RELEASE}; {SAVEPOINT}");
    let undo = format!("{ROLLBACK_TO}; {RELEASE}");
    let release_and_commit = format!("{RELEASE}; COMMIT");
    'batches: while let Some(first) = requests.recv().await {
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                let _ = first.send(Err(e.into()));
                continue;
            }
        };
        // The batch opens with the first request's savepoint, in one round trip.
        if let Err(e) = run(&mut conn, &open_batch).await {
            // If BEGIN went through and SAVEPOINT did not, end the transaction (a ROLLBACK
            // outside one fails harmlessly).
            let _ = run(&mut conn, "ROLLBACK").await;
            let _ = first.send(Err(e.into()));
            continue;
        }
        let mut released: Vec<CommitReply> = Vec::new();
        // What the last leased request left to be settled: its commit reply if it released
        // its work, `None` if it is to be undone.
        let mut pending: Option<CommitReply>;
        let mut reply = first;
        loop {
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
            pending = match outcome {
                Outcome::Released(done) => Some(done),
                Outcome::Abandoned => None,
            };
            let next = if released.len() + usize::from(pending.is_some()) < MAX_BATCH {
                requests.try_recv().ok()
            } else {
                None
            };
            let Some(next) = next else { break };
            // Settle the last request and open the next one's savepoint in one round trip.
            let settle = if pending.is_some() {
                &release_and_next
            } else {
                &undo_and_next
            };
            if let Err(e) = run(&mut conn, settle).await {
                // Whether the last request's work was settled is unknown: the batch is
                // rolled back whole and nobody in it is told it committed.
                let _ = run(&mut conn, "ROLLBACK").await;
                let message = e.to_string();
                released.extend(pending);
                for done in released {
                    let _ = done.send(Err(message.clone()));
                }
                let _ = next.send(Err(e.into()));
                continue 'batches;
            }
            released.extend(pending.take());
            reply = next;
        }
        // The batch ends with the last request: release (or undo) it and commit.
        let result = match pending {
            Some(done) => {
                released.push(done);
                run(&mut conn, &release_and_commit).await
            }
            None => match run(&mut conn, &undo).await {
                Ok(()) if released.is_empty() => run(&mut conn, "ROLLBACK").await,
                Ok(()) => run(&mut conn, "COMMIT").await,
                Err(e) => Err(e),
            },
        };
        let result = result.map_err(|e| e.to_string());
        if result.is_err() {
            // Leave the connection outside any transaction for the next batch.
            let _ = run(&mut conn, "ROLLBACK").await;
        }
        // How many requests each group commit carried (SQLite).
        metrics::histogram!("idp_sync_store_batch_requests").record(released.len() as f64);
        for done in released {
            let _ = done.send(result.clone());
        }
    }
}

/// Runs one or more `;`-separated statements (no parameters) in one round trip to the
/// connection's worker; prepared once and cached like any query.
async fn run(conn: &mut PoolConnection<Db>, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(&mut **conn).await?;
    Ok(())
}

fn conn_lost(released: Vec<CommitReply>) {
    for done in released {
        let _ = done.send(Err("the writer connection was lost".to_owned()));
    }
}
