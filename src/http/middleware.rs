//! Middleware of our own: request metrics by route template, and the span every request
//! is logged in (method, route template and request id — never the query string, which
//! may carry personal data such as a SCIM filter on an email).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;
use tower_http::request_id::{MakeRequestId, RequestId};

/// Counts requests and records their latency, labelled by the route template (not the
/// raw path, whose ids would make unbounded label sets) and the method (one of the
/// standard ones, else `other`).
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let route = route_label(route.as_ref());
    let seconds = started.elapsed().as_secs_f64();
    HANDLES.with_borrow_mut(|handles| {
        if let Some((counter, histogram)) = handles.get(route, method, status) {
            counter.increment(1);
            histogram.record(seconds);
        }
    });
    response
}

thread_local! {
    /// This thread's metric handles by label set. Registering a labelled metric with the
    /// recorder builds its key (the label strings copied) and looks it up in the shared
    /// registry, several allocations and a lock per request; a handle found here is a
    /// reference count. The label sets are few (route templates × methods × statuses), so
    /// the map stays small. The recorder must be installed before the first request
    /// ([`super::router`] does it): a handle taken before would stay a no-op.
    static HANDLES: RefCell<Handles> = RefCell::new(Handles::default());
}

/// Handles by route template, then by method and status.
#[derive(Default)]
struct Handles {
    by_route: HashMap<String, Vec<RouteHandles>>,
}

struct RouteHandles {
    method: &'static str,
    status: u16,
    requests: Counter,
    duration: Histogram,
}

impl Handles {
    /// The handles of one label set, registered on first use (`None` never happens: the
    /// route's entry is inserted first).
    fn get(
        &mut self,
        route: &str,
        method: &'static str,
        status: u16,
    ) -> Option<(&Counter, &Histogram)> {
        if !self.by_route.contains_key(route) {
            self.by_route.insert(route.to_owned(), Vec::new());
        }
        let entries = self.by_route.get_mut(route)?;
        let at = match entries
            .iter()
            .position(|e| e.method == method && e.status == status)
        {
            Some(at) => at,
            None => {
                entries.push(RouteHandles {
                    method,
                    status,
                    requests: metrics::counter!(
                        "idp_sync_http_requests_total",
                        "route" => route.to_owned(),
                        "method" => method,
                        "status" => status.to_string()
                    ),
                    duration: metrics::histogram!(
                        "idp_sync_http_request_duration_seconds",
                        "route" => route.to_owned(),
                        "method" => method
                    ),
                });
                entries.len() - 1
            }
        };
        let entry = &entries[at];
        Some((&entry.requests, &entry.duration))
    }
}

/// The method as a label: the standard methods by name, any other as `other`, so that a
/// client cannot grow the label set with made-up methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// The route template a request matched, or `unmatched`.
fn route_label(matched: Option<&MatchedPath>) -> &str {
    matched.map_or("unmatched", MatchedPath::as_str)
}

/// A random (v4) UUID for each request without an `x-request-id`: what tower-http's
/// `MakeRequestUuid` makes, written into a buffer on the stack instead of through
/// `to_string` and a parse (≈ 1,500 instructions of every request).
#[derive(Clone, Copy, Debug)]
pub struct RequestUuid;

impl MakeRequestId for RequestUuid {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

pub fn make_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(super::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = %route_label(request.extensions().get::<MatchedPath>()),
        request_id = %request_id,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_fresh_v4_uuids() {
        let request = axum::http::Request::new(());
        let id = |maker: &mut RequestUuid| {
            let id = maker.make_request_id(&request).unwrap();
            let text = id.header_value().to_str().unwrap().to_owned();
            uuid::Uuid::parse_str(&text).unwrap();
            assert_eq!(text, text.to_lowercase());
            assert_eq!(text.len(), 36);
            assert_eq!(uuid::Uuid::parse_str(&text).unwrap().get_version_num(), 4);
            text
        };
        let mut maker = RequestUuid;
        assert_ne!(id(&mut maker), id(&mut maker));
    }
}
