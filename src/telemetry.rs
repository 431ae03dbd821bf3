//! Logging and metrics set-up: tracing (human-readable on a terminal, JSON lines
//! otherwise) and the process-wide Prometheus recorder that `/metrics` renders.
//!
//! Personal data (emails, userNames, names) is logged only at `debug` level; callers log
//! ids at `info` and above.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// Seconds buckets for request latencies: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Starts logging. `RUST_LOG` filters (default `info`); output is JSON unless stderr is a
/// terminal, or when `IDP_SYNC_LOG_FORMAT=json|text` says otherwise.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("IDP_SYNC_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The process-wide metrics handle. The recorder is installed on first use; later calls
/// return the same handle (several in-process servers in tests share one registry).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_duration_seconds".to_owned()),
                &LATENCY_BUCKETS,
            )
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        describe();
        metrics::gauge!("idp_sync_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

fn describe() {
    metrics::describe_gauge!("idp_sync_build_info", "idp-sync version, always 1");
    metrics::describe_counter!(
        "idp_sync_http_requests_total",
        "HTTP requests by route template, method and status"
    );
    metrics::describe_histogram!(
        "idp_sync_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route template and method"
    );
    metrics::describe_gauge!(
        "idp_sync_db_pool_connections",
        "database pool connections (state=open|idle)"
    );
    metrics::describe_counter!(
        "idp_sync_config_reloads_total",
        "config reloads by result (applied, unchanged, invalid, held)"
    );
    metrics::describe_counter!(
        "idp_sync_deliveries_total",
        "outbox delivery attempts by destination kind (email, webhook, connector) and result \
         (delivered, retry, dead)"
    );
}
