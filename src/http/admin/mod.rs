//! The admin API at `/admin/v1` (DESIGN §5): JSON over HTTP for operators and their tools,
//! authenticated by the `[[admin_tokens]]` of the config. Every token may read; what a token
//! may change is limited by its role (a Manager token cannot create or raise anyone to
//! Administrator — the write endpoints check it). Errors are JSON with a stable code
//! ([`crate::http::error::ApiError`]). Lists are pages with an opaque `next_cursor`.
//!
//! Every endpoint is a row of [`endpoints`]; `openapi/admin-v1.json` describes the same
//! list, and a test keeps the two equal both ways.

mod audit;
mod auth;
mod conflicts;
mod deliveries;
mod invitations;
mod organizations;
mod plan;
mod removals;
mod users;

pub use auth::AdminClient;
pub use deliveries::delivery_json;

use crate::http::AppState;
use crate::http::error::ApiError;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use serde::Serialize;

/// Page size when a request does not say, and the most a request may ask for.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1_000;

/// Every admin endpoint: method, path under `/admin/v1`, handler.
pub fn endpoints() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/users", get(users::list)),
        (Method::GET, "/users/{id}", get(users::show)),
        (Method::GET, "/organizations", get(organizations::list)),
        (
            Method::GET,
            "/organizations/{slug}",
            get(organizations::show),
        ),
        (Method::GET, "/audit", get(audit::list)),
        (Method::GET, "/invitations", get(invitations::list)),
        (Method::POST, "/invitations", post(invitations::create)),
        (
            Method::POST,
            "/invitations/{id}/resend",
            post(invitations::resend),
        ),
        (
            Method::POST,
            "/invitations/{id}/revoke",
            post(invitations::revoke),
        ),
        (Method::GET, "/deliveries", get(deliveries::list)),
        (
            Method::POST,
            "/deliveries/retry",
            post(deliveries::retry_many),
        ),
        (
            Method::POST,
            "/deliveries/{event_id}/{destination}/retry",
            post(deliveries::retry_one),
        ),
        (Method::GET, "/conflicts", get(conflicts::list)),
        (Method::GET, "/removals", get(removals::list)),
        (Method::POST, "/removals/approve", post(removals::approve)),
        (Method::POST, "/removals/reject", post(removals::reject)),
        (Method::POST, "/plan", post(plan::plan)),
    ]
}

pub fn routes() -> Router<AppState> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| {
            router.route(path, handler)
        })
}

/// Writes that only the top role (Administrator) may make: deciding removals.
fn require_top_role(admin: &AdminClient, what: &str) -> Result<(), ApiError> {
    match admin.config.policy.roles.top() {
        Some(top) if admin.role == top.name => Ok(()),
        Some(top) => Err(ApiError::Forbidden(format!(
            "only a {} token can {what}; this token is {}",
            top.name, admin.role
        ))),
        None => Err(ApiError::Forbidden(format!("no token can {what}"))),
    }
}

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

/// A page of results: `next_cursor` is null on the last page.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}
