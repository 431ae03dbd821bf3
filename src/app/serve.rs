//! `idp-sync serve`: loads the config, opens (and migrates) the database, serves HTTP,
//! reloads the config on SIGHUP and on file change, and shuts down gracefully on SIGTERM
//! or SIGINT: stop accepting, let in-flight requests and the deliveries in progress
//! finish, exit 0 within 10 seconds. The outbox [`Worker`] runs beside the server.

use super::{AppError, cli::ServeArgs, load_config, open_store};
use crate::config::{Candidate, Config, ConfigHandle, Env};
use crate::domain::AuditEvent;
use crate::domain::Cause;
use crate::http::{self, AppState};
use crate::outbox::{Waker, Worker, WorkerOptions};
use crate::reconcile::plan::{load_directory, plan};
use crate::reconcile::{RemovalRule, reconcile_all, removals};
use crate::store::HeldConfigStatus;
use crate::store::Store;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// After a stop signal, in-flight requests get this long before the process exits anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(9);

pub async fn serve(config_path: &Path, args: ServeArgs) -> Result<(), AppError> {
    let config = load_config(config_path)?;
    crate::telemetry::metrics();
    let store = open_store(&config).await?;
    if args.no_migrate {
        tracing::info!("migrations skipped (--no-migrate)");
    } else {
        store.migrate().await?;
    }
    let listen = config.server.listen;
    let handle = ConfigHandle::new(config, Env::process());

    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| AppError::Runtime(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| AppError::Runtime(format!("cannot read the bound address: {e}")))?;
    tracing::info!(%addr, engine = %store.engine(), "listening");

    // The config may have changed while the daemon was down: bring everyone's access up to
    // date, in the background (readiness does not wait), under the mass-removal rule.
    tokio::spawn(reconcile_at_start(handle.current(), store.clone()));

    let (stop_tx, stop_rx) = watch::channel(false);
    let reloader = tokio::spawn(reload_loop(handle.clone(), store.clone(), stop_rx.clone()));

    let waker = Waker::new();
    let approvals = Arc::new(tokio::sync::Notify::new());
    let poller = tokio::spawn(approval_loop(
        handle.clone(),
        store.clone(),
        waker.clone(),
        approvals.clone(),
        stop_rx.clone(),
    ));
    let worker = Worker::new(
        store.clone(),
        handle.clone(),
        waker.clone(),
        WorkerOptions::default(),
    )
    .map_err(|e| AppError::Runtime(e.to_string()))?;
    let worker = tokio::spawn(worker.run(stop_rx.clone()));

    let state = AppState::with_workers(store.clone(), handle, waker, approvals);
    let app = http::router(state);
    let mut stopping = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(async move { server.await });

    let signal_name = wait_for_stop_signal().await?;
    tracing::info!(
        signal = signal_name,
        "stopping: finishing in-flight requests"
    );
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    match tokio::time::timeout_at(deadline, server).await {
        Ok(Ok(Ok(()))) => tracing::info!("stopped"),
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server ended with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "server task failed"),
        Err(_) => tracing::warn!("in-flight requests did not finish in time; exiting anyway"),
    }
    if tokio::time::timeout_at(deadline, worker).await.is_err() {
        tracing::warn!("the delivery in progress did not finish in time; it is retried later");
    }
    reloader.abort();
    poller.abort();
    store.close().await;
    Ok(())
}

async fn wait_for_stop_signal() -> Result<&'static str, AppError> {
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| AppError::Runtime(format!("cannot handle SIGTERM: {e}")))?;
    tokio::select! {
        _ = term.recv() => Ok("SIGTERM"),
        r = tokio::signal::ctrl_c() => {
            r.map_err(|e| AppError::Runtime(format!("cannot handle SIGINT: {e}")))?;
            Ok("SIGINT")
        }
    }
}

/// Reloads on SIGHUP and when the file changes. An invalid file is logged, counted and
/// audited, and never replaces the running config.
async fn reload_loop(handle: ConfigHandle, store: Arc<dyn Store>, mut stop: watch::Receiver<bool>) {
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot handle SIGHUP; reload on file change only");
            None
        }
    };
    let mut changes = match crate::config::watch_file(handle.path()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the config file; reload on SIGHUP only");
            None
        }
    };
    loop {
        let trigger = tokio::select! {
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => None } } => "SIGHUP",
            Some(()) = async { match changes.as_mut() { Some(w) => w.changed().await, None => None } } => "file change",
            _ = stop.wait_for(|s| *s) => return,
        };
        reload_once(&handle, store.as_ref(), trigger).await;
    }
}

pub(crate) async fn reload_once(handle: &ConfigHandle, store: &dyn Store, trigger: &str) {
    let now = chrono::Utc::now();
    let reading = handle.clone();
    let candidate = match tokio::task::spawn_blocking(move || reading.candidate()).await {
        Ok(candidate) => candidate,
        Err(e) => {
            tracing::error!(error = %e, "config reload task failed");
            return;
        }
    };
    let next = match candidate {
        Candidate::Unchanged => {
            tracing::info!(event = "config.unchanged", %trigger, "config file unchanged; nothing to apply");
            metrics::counter!("idp_sync_config_reloads_total", "result" => "unchanged")
                .increment(1);
            return;
        }
        Candidate::Invalid(errors) => {
            refuse(store, trigger, "invalid", &errors.to_string(), now).await;
            return;
        }
        Candidate::Changed(next) => next,
    };
    let fingerprint = next.fingerprint.to_string();

    // A change that would remove access from too many users at once is not applied, unless
    // an administrator approved this very config (`idp-sync removals approve --reload`).
    let approved = match approved_reload(store, &fingerprint).await {
        Ok(approved) => approved,
        Err(e) => {
            let reason = format!("the database could not be read to check the change: {e}");
            refuse(store, trigger, "error", &reason, now).await;
            return;
        }
    };
    if !approved {
        match mass_removal(store, &next).await {
            Ok(None) => {}
            Ok(Some(held)) => {
                if let Err(e) =
                    removals::hold_reload(store, &next, held.removals, held.with_access, now).await
                {
                    tracing::error!(error = %e, "could not record the held config reload");
                }
                refuse(store, trigger, "held", &held.reason, now).await;
                return;
            }
            Err(e) => {
                let reason = format!("the directory could not be read to check the change: {e}");
                refuse(store, trigger, "error", &reason, now).await;
                return;
            }
        }
    }

    handle.apply(next.clone());
    tracing::info!(event = "config.reloaded", %trigger, %fingerprint, "config.reloaded");
    metrics::counter!("idp_sync_config_reloads_total", "result" => "applied").increment(1);
    let audit = AuditEvent::new("config.reloaded", "system", now).with_detail(
        serde_json::json!({ "trigger": trigger, "fingerprint": fingerprint, "approved": approved }),
    );
    record(store, &audit).await;

    // Everyone's access under the new policy (new mappings, an organization a `*` mapping
    // now includes, a removed connection…).
    let cause = Cause::ConfigReload {
        revision: fingerprint,
    };
    // Checked (or approved) as a whole above: apply, after `removal.grace` if set; an
    // approved one at once.
    let rule = if approved {
        RemovalRule::apply()
    } else {
        RemovalRule::after_plan(&next, false)
    };
    match reconcile_all(store, &next, &rule, &cause, now).await {
        Ok(summary) => tracing::info!(
            event = "access.recomputed",
            users = summary.users,
            changed = summary.changed,
            "access recomputed under the new config"
        ),
        Err(e) => {
            tracing::error!(error = %e, "recomputing access after the reload failed; it is retried at the next reload")
        }
    }
}

async fn reconcile_at_start(config: Arc<Config>, store: Arc<dyn Store>) {
    let now = chrono::Utc::now();
    // The config already runs: a mass removal is applied for everything but the removals,
    // which wait as pending removals (`idp-sync removals list`).
    let held = match mass_removal(store.as_ref(), &config).await {
        Ok(held) => held,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the directory to recompute access at start");
            return;
        }
    };
    if let Some(held) = &held {
        tracing::warn!(event = "access.recompute_held", reason = %held.reason, "removals held at start");
        let audit = AuditEvent::new("config.start_held", "system", now).with_detail(
            serde_json::json!({ "reason": held.reason, "removals": held.removals, "with_access": held.with_access }),
        );
        record(store.as_ref(), &audit).await;
    }
    let cause = Cause::ConfigReload {
        revision: config.fingerprint.to_string(),
    };
    let rule = RemovalRule::after_plan(&config, held.is_some());
    match reconcile_all(store.as_ref(), &config, &rule, &cause, now).await {
        Ok(summary) => tracing::info!(
            event = "access.recomputed",
            users = summary.users,
            changed = summary.changed,
            "access recomputed at start"
        ),
        Err(e) => tracing::error!(error = %e, "recomputing access at start failed"),
    }
}

/// Whether an administrator approved the reload of this fingerprint.
async fn approved_reload(
    store: &dyn Store,
    fingerprint: &str,
) -> Result<bool, crate::store::StoreError> {
    Ok(store
        .read()
        .await?
        .get_held_config(fingerprint)
        .await?
        .is_some_and(|h| h.status == HeldConfigStatus::Approved))
}

/// A mass removal a config would cause: how many, of how many, and the refusal message.
struct MassRemoval {
    removals: usize,
    with_access: usize,
    reason: String,
}

/// Why `next` would be a mass removal (DESIGN §3), or `None` when it is not.
async fn mass_removal(
    store: &dyn Store,
    next: &Config,
) -> Result<Option<MassRemoval>, crate::store::StoreError> {
    let mut read = store.read().await?;
    let directory = load_directory(read.as_mut()).await?;
    drop(read);
    let removal = &next.removal;
    let plan = plan(
        &next.policy,
        &directory,
        removal.mass_threshold,
        removal.mass_minimum,
    );
    Ok(plan.mass_removal.then(|| MassRemoval {
        removals: plan.summary.suspend,
        with_access: plan.summary.with_access,
        reason: format!(
            "mass removal: {} of the {} users with access would lose it, more than \
             removal.mass_threshold ({}) allows; the config was not applied. See who with \
             `idp-sync plan --config {}`; to apply it, approve it with \
             `idp-sync removals approve --reload` (or POST /admin/v1/removals/approve with \
             {{\"reload\": true}}), or raise removal.mass_threshold for this change and reload",
            plan.summary.suspend,
            plan.summary.with_access,
            removal.mass_threshold,
            next.source.display()
        ),
    }))
}

/// How often a daemon looks for approved config reloads and due grace removals.
const APPROVAL_POLL: Duration = Duration::from_secs(2);

/// Applies what was decided elsewhere: a config reload an administrator approved (from
/// the CLI, the admin API, or on another replica — the decision is a database row), and
/// the `removal.grace` removals that are due.
async fn approval_loop(
    handle: ConfigHandle,
    store: Arc<dyn Store>,
    waker: Waker,
    approvals: Arc<tokio::sync::Notify>,
    mut stop: watch::Receiver<bool>,
) {
    // Approved fingerprints already tried against the file: each is tried once.
    let mut tried = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(APPROVAL_POLL) => {}
            _ = approvals.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let current = handle.current();
        let approved = match store.read().await {
            Ok(mut read) => {
                read.list_held_configs(Some(HeldConfigStatus::Approved))
                    .await
            }
            Err(e) => Err(e),
        };
        match approved {
            Ok(rows) => {
                let fresh = rows.into_iter().next().filter(|h| {
                    h.fingerprint != current.fingerprint.to_string()
                        && !tried.contains(&h.fingerprint)
                });
                if let Some(held) = fresh {
                    tried.insert(held.fingerprint.clone());
                    reload_once(&handle, store.as_ref(), "approval").await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read approved config reloads"),
        }
        match removals::apply_due(store.as_ref(), &current, chrono::Utc::now()).await {
            Ok((decided, events)) => {
                if events > 0 {
                    waker.wake();
                }
                if !decided.applied.is_empty() || !decided.obsolete.is_empty() {
                    tracing::info!(
                        event = "removals.grace_ended",
                        applied = decided.applied.len(),
                        obsolete = decided.obsolete.len(),
                        "grace removals due"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot apply the due grace removals"),
        }
    }
}

async fn refuse(
    store: &dyn Store,
    trigger: &str,
    result: &'static str,
    reason: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    tracing::warn!(event = "config.reload_refused", %trigger, %reason, "config.reload_refused");
    metrics::counter!("idp_sync_config_reloads_total", "result" => result).increment(1);
    let kind = if result == "held" {
        "config.reload_held"
    } else {
        "config.reload_refused"
    };
    let audit = AuditEvent::new(kind, "system", now)
        .with_detail(serde_json::json!({ "trigger": trigger, "reason": reason }));
    record(store, &audit).await;
}

async fn record(store: &dyn Store, event: &AuditEvent) {
    if let Err(e) = store.append_audit(event).await {
        tracing::error!(error = %e, "could not record the config reload in the audit log");
    }
}
