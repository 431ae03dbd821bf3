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
//! for a [`Lease`]: the writer connection, inside the open batch transaction. The request's
//! first statement opens `SAVEPOINT idp_sync_request`; the caller runs its reads and writes
//! on it exactly as on a transaction of its own, then
//! * commits: runs `RELEASE SAVEPOINT`, hands the connection back and waits until the
//!   batch COMMIT has returned — only then does its `commit()` return `Ok`;
//! * or rolls back, fails, or drops the lease: the writer runs
//!   `ROLLBACK TO SAVEPOINT; RELEASE SAVEPOINT`, which undoes exactly this request's work
//!   (a 409 on one user does not touch the others of the batch).
//!
//! The writer then leases the connection to the next queued request, if there is one
//! (never waiting for more: a lone request is committed at once) and the batch has fewer
//! than [`MAX_BATCH`] requests, else commits and answers every request of the batch with
//! the COMMIT's result.
//!
//! Every statement is a round trip to the connection's worker thread, and the batch is
//! serial, so those round trips are what a batch's length is made of. So the request
//! sends its savepoint with its first statement, and holds back writes whose result it
//! does not read (a new user, an audit event: `deferred.rs`) until its next statement or
//! its commit: a SCIM create — `SAVEPOINT`, the user, its audit event, `RELEASE` — is one
//! round trip, and the writer adds none between requests (`BEGIN IMMEDIATE` and `COMMIT`
//! once per batch). A script that fails part-way may have left the savepoint open; the
//! writer then undoes it as for any failed request.
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

use super::deferred::{self, Deferred};
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
    /// dropped and comes back untouched (its savepoint opens only with a statement).
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
    /// Released into the batch (the request ran `RELEASE SAVEPOINT`); answered when the
    /// batch commits.
    Released(CommitReply),
    /// Rolled back, failed or dropped: undo it if its savepoint may be open.
    Abandoned { savepoint: bool },
}

struct Returned {
    conn: PoolConnection<Db>,
    outcome: Outcome,
}

/// One request's turn on the writer connection. Its savepoint is opened with its first
/// statement (or held-back write, [`Lease::defer`]) and released by its commit; dropping
/// the lease without [`Lease::commit`] has the writer roll the request's work back.
pub(super) struct Lease {
    conn: Option<PoolConnection<Db>>,
    back: Option<oneshot::Sender<Returned>>,
    /// Whether this request's savepoint may be open on the connection.
    savepoint: bool,
    /// Writes not sent yet (`deferred.rs`).
    pending: Vec<Deferred>,
}

impl Lease {
    /// The connection, ready for a statement: the request's savepoint open and its
    /// held-back writes sent, in one round trip.
    pub(super) async fn conn(&mut self) -> StoreResult<&mut Conn> {
        if !self.savepoint || !self.pending.is_empty() {
            self.send(None).await?;
        }
        match self.conn.as_mut() {
            Some(c) => Ok(c),
            // Only `commit`/`rollback`, which consume the lease, take the connection.
            None => unreachable_conn(),
        }
    }

    /// Holds `write` back until the request's next statement or its commit.
    pub(super) fn defer(&mut self, write: Deferred) {
        self.pending.push(write);
    }

    /// Sends what is due — `SAVEPOINT` if not open yet, the held-back writes, `after` — as
    /// one script.
    async fn send(&mut self, after: Option<&str>) -> StoreResult<()> {
        let before = (!self.savepoint).then_some(SAVEPOINT);
        let pending = std::mem::take(&mut self.pending);
        let sql = deferred::script(before, &pending, after);
        if sql.is_empty() {
            return Ok(());
        }
        // From here on the savepoint may be open, whatever the outcome: if the script
        // fails, the writer undoes it (ROLLBACK TO, RELEASE) when the lease comes back.
        self.savepoint = true;
        let Some(conn) = self.conn.as_mut() else {
            unreachable_conn()
        };
        deferred::bind(sqlx::query(&sql), &pending)
            .execute(&mut **conn)
            .await?;
        Ok(())
    }

    /// Sends the held-back writes with `RELEASE SAVEPOINT`, hands the connection back, and
    /// waits for the batch COMMIT. If the script fails, the request's work is undone and
    /// its error (a unique violation, say) returned.
    pub(super) async fn commit(mut self) -> StoreResult<()> {
        if self.savepoint || !self.pending.is_empty() {
            self.send(Some(RELEASE)).await?;
            self.savepoint = false;
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
        self.give_back(Outcome::Abandoned {
            savepoint: self.savepoint,
        });
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
        self.give_back(Outcome::Abandoned {
            savepoint: self.savepoint,
        });
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
    let undo = format!("{ROLLBACK_TO}; {RELEASE}");
    'batches: while let Some(first) = requests.recv().await {
        let mut conn = match pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                let _ = first.send(Err(e.into()));
                continue;
            }
        };
        if let Err(e) = run(&mut conn, begin).await {
            let _ = first.send(Err(e.into()));
            continue;
        }
        let mut released: Vec<CommitReply> = Vec::new();
        let mut reply = first;
        loop {
            let (back, returned) = oneshot::channel();
            // A requester that went away drops the lease, which comes back abandoned.
            let _ = reply.send(Ok(Lease {
                conn: Some(conn),
                back: Some(back),
                savepoint: false,
                pending: Vec::new(),
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
                Outcome::Abandoned { savepoint: false } => {}
                Outcome::Abandoned { savepoint: true } => {
                    if let Err(e) = run(&mut conn, &undo).await {
                        // The request's work could not be undone (the database may have
                        // rolled the whole transaction back, on a full disk say): the
                        // batch is rolled back whole and nobody in it is told it
                        // committed.
                        let _ = run(&mut conn, "ROLLBACK").await;
                        let message = e.to_string();
                        for done in released {
                            let _ = done.send(Err(message.clone()));
                        }
                        continue 'batches;
                    }
                }
            }
            let next = if released.len() < MAX_BATCH {
                requests.try_recv().ok()
            } else {
                None
            };
            let Some(next) = next else { break };
            reply = next;
        }
        let result = if released.is_empty() {
            run(&mut conn, "ROLLBACK").await
        } else {
            run(&mut conn, "COMMIT").await
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
