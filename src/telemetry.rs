//! Logging and metrics set-up: tracing (human-readable on a terminal, JSON lines
//! otherwise) and the process-wide Prometheus recorder that `/metrics` renders.
//!
//! Personal data (emails, userNames, names) is logged only at `debug` level; callers log
//! ids at `info` and above.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Seconds buckets for request latencies: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Starts logging. `RUST_LOG` filters (default `info`); output is JSON unless stderr is a
/// terminal, or when `IDP_SYNC_LOG_FORMAT=json|text` says otherwise.
pub fn init_logging() {
    let terminal = std::io::stderr().is_terminal();
    install(BoxMakeWriter::new(std::io::stderr), terminal);
}

/// [`init_logging`] for the daemon, with what C libraries print routed into tracing.
///
/// xmlsec (under samael) reports every failed signature check on the process's stderr by
/// itself (`func=xmlSec…:error=…` lines), behind tracing's back and in no log format; a
/// forged SAML response would put unstructured lines into a JSON log. So for `serve`, file
/// descriptor 2 becomes a pipe: a thread reads it, logs xmlsec's lines through tracing
/// (target `xmlsec`, level debug — the refusal itself is logged with its code and audited),
/// and passes every other line (a panic message) on unchanged to the real stderr, where
/// tracing writes too. If the pipe cannot be set up, logging starts as [`init_logging`].
pub fn init_logging_with_native_capture() {
    match capture_native_stderr() {
        Ok(original) => {
            let terminal = original.is_terminal();
            install(
                BoxMakeWriter::new(std::sync::Mutex::new(original)),
                terminal,
            );
        }
        Err(e) => {
            init_logging();
            tracing::warn!(error = %e, "could not route C libraries' stderr into the log");
        }
    }
}

fn install(writer: BoxMakeWriter, terminal: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("IDP_SYNC_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !terminal,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Puts a pipe on file descriptor 2 and starts the thread that empties it. Returns the
/// original stderr, for tracing to write to.
fn capture_native_stderr() -> std::io::Result<std::fs::File> {
    let original = std::fs::File::from(rustix::io::dup(std::io::stderr())?);
    let mut passthrough = original.try_clone()?;
    let (reader, writer) = std::io::pipe()?;
    rustix::stdio::dup2_stderr(&writer)?;
    // Descriptor 2 holds the pipe open from now on.
    drop(writer);
    std::thread::Builder::new()
        .name("native-stderr".to_owned())
        .spawn(move || {
            use std::io::{BufRead, Write};
            for line in std::io::BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                if is_xmlsec_line(&line) {
                    tracing::debug!(target: "xmlsec", "{line}");
                } else {
                    let _ = writeln!(passthrough, "{line}");
                }
            }
        })?;
    Ok(original)
}

/// xmlsec's default error callback prints `func=…:file=…:line=…:obj=…:subj=…:error=…`.
fn is_xmlsec_line(line: &str) -> bool {
    line.starts_with("func=")
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
