//! The admin API at `/admin/v1` (DESIGN §5): JSON over HTTP for operators and their tools,
//! authenticated by the `[[admin_tokens]]` of the config. Every token may read; what a token
//! may change is limited by its role (a Manager token cannot create or raise anyone to
//! Administrator — the write endpoints check it). Errors are JSON with a stable code
//! ([`crate::http::error::ApiError`]). Lists are pages with an opaque `next_cursor`.

mod audit;
mod auth;
mod invitations;
mod organizations;
mod users;

pub use auth::AdminClient;

use crate::http::AppState;
use axum::Router;
use axum::routing::{get, post};
use serde::Serialize;

/// Page size when a request does not say, and the most a request may ask for.
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users::list))
        .route("/users/{id}", get(users::show))
        .route("/organizations", get(organizations::list))
        .route("/organizations/{slug}", get(organizations::show))
        .route("/audit", get(audit::list))
        .route("/invitations", post(invitations::create))
        .route("/invitations/{id}/resend", post(invitations::resend))
        .route("/invitations/{id}/revoke", post(invitations::revoke))
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
