//! Pages people open in a browser: the invitation landing page and its renewal. HTML from
//! minijinja templates compiled into the binary (auto-escaped); every page carries a stable
//! code for refusals, `Cache-Control: no-store`, and `Referrer-Policy: no-referrer` (an
//! invitation token is in the URL and must not leak to the IdP through the Referer).

mod invitations;

use crate::http::AppState;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::Environment;
use std::sync::OnceLock;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invitations/{token}", get(invitations::show))
        .route("/invitations/{token}/renew", post(invitations::renew))
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Both are compiled in and covered by tests; a broken one fails every page test.
        let _ = env.add_template("layout.html", include_str!("templates/layout.html"));
        let _ = env.add_template("invitation.html", include_str!("templates/invitation.html"));
        env
    })
}

/// Renders `template` with `context` as a page with `status`.
fn page(status: StatusCode, template: &str, context: minijinja::Value) -> Response {
    let body = templates()
        .get_template(template)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, template, "page template failed");
            "<!doctype html><title>Error</title><p>This page could not be shown. Code: PAGE-TEMPLATE</p>".to_owned()
        });
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    );
    response
}
