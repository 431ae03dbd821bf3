//! The HTTP surface (DESIGN §5): the axum router, its shared state and the middleware
//! every request passes through — request ids, body-size limit, timeout, access logs and
//! per-route metrics. Protocol handlers (SCIM, SSO, admin API, pages) plug in here; probes
//! and metrics live in [`probes`].
//!
//! Handlers turn their layer's errors into the protocol's own form at this edge; internal
//! errors are logged once, here, and answered without detail.

pub mod admin;
pub mod error;
mod middleware;
pub mod pages;
pub mod probes;
pub mod scim;
pub mod sso;

use crate::config::ConfigHandle;
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// The header that carries a request's id, set when the client did not send one.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A request that takes longer than this is answered 408 and its work cancelled.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach: one `Arc`, so that the clone axum makes for every
/// extractor and layer of every request is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The fields of [`AppState`], reached through it by `Deref`.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub config: ConfigHandle,
    /// Per-connection SCIM token buckets.
    pub scim_limits: scim::RateLimits,
    /// Handlers that enqueue outbox events wake the delivery worker with it after
    /// committing.
    pub outbox: crate::outbox::Waker,
    /// Tells `serve`'s approval poller to look now (an approved config reload is then
    /// applied on this replica at once; other replicas find it when they poll).
    pub approvals: Arc<tokio::sync::Notify>,
    /// Per-process SSO caches (OIDC provider metadata and keys), shared by all requests.
    pub sso: crate::sso::SsoCaches,
}

impl AppState {
    /// State whose outbox waker and approval notifier nobody listens to (tests, tools).
    pub fn new(store: Arc<dyn Store>, config: ConfigHandle) -> Self {
        Self::with_workers(
            store,
            config,
            crate::outbox::Waker::default(),
            Arc::default(),
        )
    }

    /// State wired to the delivery worker's waker and the approval poller's notifier.
    pub fn with_workers(
        store: Arc<dyn Store>,
        config: ConfigHandle,
        outbox: crate::outbox::Waker,
        approvals: Arc<tokio::sync::Notify>,
    ) -> Self {
        Self(Arc::new(Shared {
            store,
            config,
            scim_limits: scim::RateLimits::default(),
            outbox,
            approvals,
            sso: crate::sso::SsoCaches::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The whole router with its middleware. The body limit is read from the config once,
/// at start-up: changing `server.max_body_bytes` takes a restart.
pub fn router(state: AppState) -> Router {
    let max_body =
        usize::try_from(state.config.current().server.max_body_bytes).unwrap_or(usize::MAX);
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    // The recorder first: the metrics middleware keeps the handles it takes per thread.
    crate::telemetry::metrics();
    Router::new()
        .merge(probes::routes())
        .merge(scim::routes())
        .nest("/admin/v1", admin::routes())
        .merge(pages::routes())
        .merge(sso::routes())
        .fallback(error::not_found)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(
                    request_id.clone(),
                    middleware::RequestUuid,
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(middleware::make_span)
                        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(axum::middleware::from_fn(middleware::track_metrics))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    REQUEST_TIMEOUT,
                ))
                // A limit the body extractors enforce, so each protocol answers 413 in its
                // own form (SCIM error JSON on /scim/v2).
                .layer(DefaultBodyLimit::max(max_body)),
        )
}
