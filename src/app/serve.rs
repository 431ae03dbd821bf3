//! `idp-sync serve`: loads the config, opens (and migrates) the database, serves HTTP,
//! reloads the config on SIGHUP and on file change, and shuts down gracefully on SIGTERM
//! or SIGINT: stop accepting, let in-flight requests and the deliveries in progress
//! finish, exit 0 within 10 seconds. The outbox [`Worker`] runs beside the server.

use super::{AppError, cli::ServeArgs, load_config, open_store};
use crate::config::{ConfigHandle, Env, ReloadOutcome};
use crate::domain::AuditEvent;
use crate::http::{self, AppState};
use crate::outbox::{Waker, Worker, WorkerOptions};
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

    let (stop_tx, stop_rx) = watch::channel(false);
    let reloader = tokio::spawn(reload_loop(handle.clone(), store.clone(), stop_rx.clone()));

    let waker = Waker::new();
    let worker = Worker::new(
        store.clone(),
        handle.clone(),
        waker.clone(),
        WorkerOptions::default(),
    )
    .map_err(|e| AppError::Runtime(e.to_string()))?;
    let worker = tokio::spawn(worker.run(stop_rx.clone()));

    let mut state = AppState::new(store.clone(), handle);
    state.outbox = waker;
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
    let reloading = handle.clone();
    let outcome = match tokio::task::spawn_blocking(move || reloading.reload()).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::error!(error = %e, "config reload task failed");
            return;
        }
    };
    let (result, audit) = match outcome {
        ReloadOutcome::Applied { current, .. } => {
            let fingerprint = current.fingerprint.to_string();
            tracing::info!(event = "config.reloaded", %trigger, %fingerprint, "config.reloaded");
            let audit = AuditEvent::new("config.reloaded", "system", now)
                .with_detail(serde_json::json!({ "trigger": trigger, "fingerprint": fingerprint }));
            ("applied", Some(audit))
        }
        ReloadOutcome::Unchanged => {
            tracing::info!(event = "config.unchanged", %trigger, "config file unchanged; nothing to apply");
            ("unchanged", None)
        }
        ReloadOutcome::Invalid(errors) => {
            let reason = errors.to_string();
            tracing::warn!(event = "config.reload_refused", %trigger, %reason, "config.reload_refused");
            let audit = AuditEvent::new("config.reload_refused", "system", now)
                .with_detail(serde_json::json!({ "trigger": trigger, "reason": reason }));
            ("invalid", Some(audit))
        }
    };
    metrics::counter!("idp_sync_config_reloads_total", "result" => result).increment(1);
    if let Some(event) = audit
        && let Err(e) = store.append_audit(&event).await
    {
        tracing::error!(error = %e, "could not record the config reload in the audit log");
    }
}
