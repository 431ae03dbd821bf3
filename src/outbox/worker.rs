//! The delivery worker: a background task (started by `serve`) that claims due
//! deliveries, sends each to its destination, and records the result.
//!
//! - **Claiming**: short leases ([`WorkerOptions::lease`], longer than any one attempt
//!   can take), at most one delivery per (user, destination) at a time — the store's
//!   claim keeps a user's events in order per destination — and several replicas never
//!   claim the same row.
//! - **Independence**: every claimed delivery runs as its own task, up to
//!   [`WorkerOptions::concurrency`] at once; the worker claims more as soon as one ends,
//!   so a slow webhook does not hold up email or other destinations.
//! - **Promptness**: writers call [`Waker::wake`] after committing an event; without a
//!   wake the worker still looks every [`WorkerOptions::poll_interval`] (other replicas'
//!   events, retries coming due).
//! - **Shutdown**: on stop it claims nothing more, lets the deliveries in progress finish
//!   and record their result, and returns.
//! - **Results**: success → delivered; a failure → retried at the time the retry policy
//!   says, or dead-lettered ([`super::retry`]); the metric
//!   `idp_sync_deliveries_total{kind,result}` counts `delivered`, `retry` and `dead`.
//!   A destination no longer in the config dead-letters its deliveries.
//! - **Order after a dead letter**: a dead delivery no longer holds back the user's later
//!   events to that destination (the store's claim waits only for *pending* ones); the
//!   receiver sees a gap, which the admin API shows and [`super::retry_dead`] can fill.

use super::email::{self, InvitationSecret, SendOutcome};
use super::event::{CONNECTOR_PREFIX, EMAIL_DESTINATION, WEBHOOK_PREFIX, destination_kind};
use super::retry::{Failure, Next, RetryPolicy};
use super::{connector, webhook};
use crate::config::{Config, ConfigHandle};
use crate::store::{ClaimedDelivery, Store, StoreError};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

/// Wakes the worker(s) of this process: call [`Waker::wake`] after a transaction that
/// enqueued events commits. Cheap to clone; a wake while the worker is busy is kept.
#[derive(Clone, Debug, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// How the worker claims and paces itself.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// How long a claim lasts; longer than an attempt can take (HTTP 15 s, SMTP 20 s per
    /// step), or a second worker could start the same delivery.
    pub lease: Duration,
    /// How often to look for due deliveries without a wake.
    pub poll_interval: Duration,
    /// Deliveries in progress at once.
    pub concurrency: usize,
    /// Fault injection for tests: after an invitation email was accepted by SMTP and
    /// before the result is recorded, stop the worker at once, as a crash would.
    #[doc(hidden)]
    pub crash_after_smtp_send: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            concurrency: 16,
            crash_after_smtp_send: false,
        }
    }
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for deliveries: {0}")]
pub struct WorkerError(#[from] reqwest::Error);

struct Inner {
    store: Arc<dyn Store>,
    config: ConfigHandle,
    client: reqwest::Client,
    options: WorkerOptions,
}

/// The delivery worker of one process.
pub struct Worker {
    inner: Arc<Inner>,
    waker: Waker,
}

/// How one attempt ended.
enum Attempt {
    Delivered,
    Failed(Failure),
    /// Dead-letter now, whatever the retry policy would say.
    Dead(String),
    /// The fault-injection point fired: record nothing, stop.
    Crashed,
}

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        config: ConfigHandle,
        waker: Waker,
        options: WorkerOptions,
    ) -> Result<Self, WorkerError> {
        let client = super::http::client()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                client,
                options,
            }),
            waker,
        })
    }

    /// Runs until `stop` turns true (then finishes the deliveries in progress).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut running: JoinSet<bool> = JoinSet::new();
        let options = &self.inner.options;
        loop {
            if *stop.borrow() {
                break;
            }
            let free = options.concurrency.saturating_sub(running.len());
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        for delivery in claimed {
                            running.spawn(process(self.inner.clone(), delivery));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "outbox: cannot claim deliveries"),
                }
            }
            tokio::select! {
                _ = self.waker.0.notified() => {}
                _ = tokio::time::sleep(options.poll_interval) => {}
                changed = stop.changed() => {
                    // A dropped sender can never say stop: treat it as one.
                    if changed.is_err() {
                        break;
                    }
                }
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if matches!(done, Ok(true)) {
                        tracing::warn!("outbox: fault injection fired; worker stops");
                        running.abort_all();
                        return;
                    }
                }
            }
        }
        while let Some(done) = running.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "outbox: a delivery task failed");
            }
        }
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lease = chrono::Duration::from_std(self.inner.options.lease)
            .unwrap_or(chrono::Duration::seconds(60));
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let mut tx = self.inner.store.begin().await?;
        let claimed = tx.claim_deliveries(Utc::now(), lease, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }
}

/// Attempts one delivery and records the result. True when the fault point fired.
async fn process(inner: Arc<Inner>, claimed: ClaimedDelivery) -> bool {
    let config = inner.config.current();
    let destination = claimed.delivery.destination.clone();
    let event_id = claimed.delivery.event_id.clone();
    let attempt = attempt(&inner, &config, &claimed).await;
    let kind = destination_kind(&destination);
    let policy = RetryPolicy {
        backoff_base: config.delivery.backoff_base,
        backoff_max: config.delivery.backoff_max,
        max_age: config.delivery.max_age,
    };
    let now = Utc::now();
    let (result, write) = match &attempt {
        Attempt::Crashed => return true,
        Attempt::Delivered => ("delivered", Write::Delivered(now)),
        Attempt::Dead(reason) => ("dead", Write::Dead(reason.clone())),
        Attempt::Failed(failure) => {
            let since = claimed
                .revived_at
                .unwrap_or(claimed.event.event.occurred_at);
            let attempts = u32::try_from(claimed.delivery.attempts.max(1)).unwrap_or(u32::MAX);
            match policy.next(failure, attempts, since, now, rand::random::<f64>()) {
                Next::RetryAt(at) => ("retry", Write::Retry(at, failure.reason().to_owned())),
                Next::Dead(reason) => ("dead", Write::Dead(reason)),
            }
        }
    };
    let recorded = record(&inner, &event_id, &destination, write).await;
    match recorded {
        Ok(()) => {
            tracing::debug!(%event_id, %destination, result, "outbox: delivery attempt recorded");
            metrics::counter!("idp_sync_deliveries_total", "kind" => kind, "result" => result)
                .increment(1);
        }
        Err(e) => tracing::error!(
            %event_id, %destination, error = %e,
            "outbox: cannot record a delivery result; it is retried when its lease ends"
        ),
    }
    false
}

/// A result to record.
enum Write {
    Started(chrono::DateTime<Utc>),
    Delivered(chrono::DateTime<Utc>),
    Retry(chrono::DateTime<Utc>, String),
    Dead(String),
}

/// Records one result in its own transaction.
async fn record(
    inner: &Inner,
    event_id: &str,
    destination: &str,
    write: Write,
) -> Result<(), StoreError> {
    let mut tx = inner.store.begin().await?;
    match write {
        Write::Started(now) => tx.mark_attempt_started(event_id, destination, now).await?,
        Write::Delivered(now) => tx.mark_delivered(event_id, destination, now).await?,
        Write::Retry(at, reason) => tx.mark_retry(event_id, destination, at, &reason).await?,
        Write::Dead(reason) => tx.mark_dead(event_id, destination, &reason).await?,
    }
    tx.commit().await
}

async fn attempt(inner: &Inner, config: &Config, claimed: &ClaimedDelivery) -> Attempt {
    let destination = claimed.delivery.destination.as_str();
    let event = &claimed.event.event;
    if destination == EMAIL_DESTINATION {
        return send_email(inner, config, claimed).await;
    }
    if let Some(name) = destination.strip_prefix(WEBHOOK_PREFIX) {
        let Some(hook) = config.webhooks.iter().find(|w| w.name == name) else {
            return Attempt::Dead(format!("webhook {name:?} is no longer configured"));
        };
        let body = match serde_json::to_vec(&event.payload) {
            Ok(body) => body,
            Err(e) => return Attempt::Dead(format!("cannot serialise the event: {e}")),
        };
        let now = Utc::now().timestamp();
        return match webhook::deliver(&inner.client, hook, &event.id, &body, now).await {
            Ok(()) => Attempt::Delivered,
            Err(f) => Attempt::Failed(f),
        };
    }
    if let Some(name) = destination.strip_prefix(CONNECTOR_PREFIX) {
        let Some(conn) = config.connectors.iter().find(|c| c.name == name) else {
            return Attempt::Dead(format!("connector {name:?} is no longer configured"));
        };
        return match connector::deliver(&inner.client, conn, &event.id, &event.payload).await {
            Ok(()) => Attempt::Delivered,
            Err(f) => Attempt::Failed(f),
        };
    }
    Attempt::Dead(format!("unknown destination {destination:?}"))
}

async fn send_email(inner: &Inner, config: &Config, claimed: &ClaimedDelivery) -> Attempt {
    if claimed.attempt_started_at.is_some() {
        return Attempt::Dead(email::INTERRUPTED.to_owned());
    }
    let Some(settings) = &config.email else {
        return Attempt::Dead("[email] is no longer configured".to_owned());
    };
    let Some(secret) = claimed
        .secret
        .clone()
        .and_then(|s| serde_json::from_value::<InvitationSecret>(s).ok())
    else {
        return Attempt::Dead(
            "the delivery has no invitation link; resend the invitation from the admin API"
                .to_owned(),
        );
    };
    let prepared = match email::prepare(config, settings, &claimed.event.event.payload, &secret) {
        Ok(p) => p,
        Err(f) => return Attempt::Failed(f),
    };
    if let Err(f) = prepared.probe().await {
        return Attempt::Failed(f);
    }
    let (event_id, destination) = (&claimed.delivery.event_id, &claimed.delivery.destination);
    let marked = record(inner, event_id, destination, Write::Started(Utc::now())).await;
    if let Err(e) = marked {
        return Attempt::Failed(Failure::retryable(format!(
            "cannot record the attempt before sending: {e}"
        )));
    }
    match prepared.send().await {
        SendOutcome::Sent if inner.options.crash_after_smtp_send => Attempt::Crashed,
        SendOutcome::Sent => Attempt::Delivered,
        SendOutcome::NotSent(f) => Attempt::Failed(f),
        SendOutcome::Unknown(reason) => Attempt::Dead(reason),
    }
}
