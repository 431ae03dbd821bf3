//! Pages people open in a browser: the invitation landing page and its renewal, and the
//! pages of signing in (home, refusals; their handlers live in `http::sso`). HTML from
//! minijinja templates compiled into the binary (auto-escaped); every page carries a stable
//! code for refusals, `Cache-Control: no-store`, and `Referrer-Policy: no-referrer` (an
//! invitation token is in the URL and must not leak to the IdP through the Referer).

mod invitations;

use crate::config::{Config, ConnectionKind};
use crate::domain::ConnectionId;
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
        let _ = env.add_template("message.html", include_str!("templates/message.html"));
        let _ = env.add_template("home.html", include_str!("templates/home.html"));
        env
    })
}

/// Renders `template` with `context` as a page with `status`.
pub(crate) fn page(status: StatusCode, template: &str, context: minijinja::Value) -> Response {
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

/// A page that says one thing: a title, a sentence and, for refusals, the stable code.
pub(crate) fn message(
    config: &Config,
    status: StatusCode,
    title: &str,
    message: &str,
    code: Option<&str>,
) -> Response {
    page(
        status,
        "message.html",
        minijinja::context! {
            title => title,
            message => message,
            code => code,
            application => application(config),
        },
    )
}

/// 503 "try again in a moment" with `code`: the database did not answer.
pub(crate) fn unavailable(config: &Config, code: &str) -> Response {
    message(
        config,
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again in a moment",
        "The service is busy.",
        Some(code),
    )
}

/// The application's name in pages and emails (`email.application_name`).
pub(crate) fn application(config: &Config) -> String {
    config
        .email
        .as_ref()
        .and_then(|e| e.application_name.clone())
        .unwrap_or_else(|| "the application".to_owned())
}

pub(crate) fn kind_label(kind: ConnectionKind) -> &'static str {
    match kind {
        ConnectionKind::Okta => "Okta",
        ConnectionKind::Entra => "Microsoft",
        ConnectionKind::Jumpcloud => "JumpCloud",
        ConnectionKind::Google => "Google",
        ConnectionKind::Generic => "your company account",
    }
}

/// A "Sign in with …" button.
#[derive(serde::Serialize)]
pub(crate) struct SignIn {
    pub href: String,
    pub label: String,
}

/// The sign-in buttons of `only` (every connection with SSO when `None`), SAML and/or
/// OIDC, carrying the invitation token when the page is an invitation's.
pub(crate) fn sign_in_links(
    config: &Config,
    only: Option<&ConnectionId>,
    invitation: Option<&str>,
) -> Vec<SignIn> {
    let extra = invitation.map_or(String::new(), |t| format!("&invitation={t}"));
    let mut out = Vec::new();
    for connection in &config.connections {
        if only.is_some_and(|id| id != &connection.id) {
            continue;
        }
        let label = kind_label(connection.kind).to_owned();
        if connection.saml.is_some() {
            out.push(SignIn {
                href: format!("/sso/saml/{}/login?return_to=/{extra}", connection.id),
                label: label.clone(),
            });
        }
        if connection.oidc.is_some() {
            out.push(SignIn {
                href: format!("/sso/oidc/{}/login?return_to=/{extra}", connection.id),
                label,
            });
        }
    }
    out
}

/// The names of these organizations, in their order (the slug for one the config no longer
/// has).
pub(crate) fn organization_names<'a>(
    config: &Config,
    slugs: impl IntoIterator<Item = &'a crate::domain::OrgSlug>,
) -> Vec<String> {
    slugs
        .into_iter()
        .map(|slug| {
            config
                .policy
                .organizations
                .get(slug)
                .map_or_else(|| slug.to_string(), |o| o.name.clone())
        })
        .collect()
}
