//! Refused sign-ins: a page (or JSON when asked, in the shape of idp-sync's other JSON
//! errors: `{"error": {"code", "message"}}`) with the stable code and one human
//! sentence, a 4xx status, and an `sso.refused` audit event with the reason. The detail of
//! what the IdP sent goes to the audit and the debug log, never to the page.

use super::wants_json;
use crate::domain::{AuditEvent, ConnectionId};
use crate::http::AppState;
use crate::http::pages;
use crate::sso::Refusal;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;

/// Audits the refusal and renders it.
pub async fn refuse(
    state: &AppState,
    connection: Option<&ConnectionId>,
    refusal: Refusal,
    headers: &HeaderMap,
) -> Response {
    let config = state.config.current();
    metrics::counter!(
        "idp_sync_sso_signins_total",
        "connection" => connection.map_or_else(String::new, ToString::to_string),
        "result" => "refused",
    )
    .increment(1);
    tracing::info!(
        code = refusal.code,
        connection = connection.map(ConnectionId::as_str),
        "sign-in refused"
    );
    tracing::debug!(code = refusal.code, detail = %refusal.detail, "sign-in refused: detail");
    let actor = connection.map_or_else(|| "sso".to_owned(), |c| format!("sso:{c}"));
    let mut event = AuditEvent::new("sso.refused", actor, Utc::now()).with_detail(json!({
        "code": refusal.code,
        "status": refusal.status.as_u16(),
        "reason": refusal.detail,
    }));
    event.connection = connection.cloned();
    let audited = async {
        let mut tx = state.store.begin().await?;
        tx.append_audit(&event).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = audited {
        tracing::warn!(error = %e, code = refusal.code, "could not audit a refused sign-in");
    }
    render(&config, &refusal, headers)
}

/// The refusal as the client wants it, without auditing (for callers that audited already).
pub fn render(config: &crate::config::Config, refusal: &Refusal, headers: &HeaderMap) -> Response {
    if wants_json(headers) {
        let mut response = (
            refusal.status,
            Json(json!({ "error": { "code": refusal.code, "message": refusal.message } })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    pages::message(
        config,
        refusal.status,
        "You could not be signed in",
        &refusal.message,
        Some(refusal.code),
    )
}
