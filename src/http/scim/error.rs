//! SCIM errors at the HTTP edge. Protocol errors ([`ScimError`], with a `scimType`) come from
//! the pure `scim` module; the ones only HTTP knows (authentication, rate limit, ETag
//! precondition, body size, our own failures) are added here. Every one is answered as
//! RFC 7644 §3.12 JSON with `application/scim+json` — never a bare status, never an HTML page.

use crate::scim::error::{ERROR_SCHEMA, ScimError};
use crate::store::{ConflictKind, StoreError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

#[derive(Debug, thiserror::Error)]
pub enum ScimHttpError {
    /// 400/404/409: the request is wrong in a way the SCIM protocol names.
    #[error(transparent)]
    Protocol(#[from] ScimError),
    /// 401 `SCIM-AUTH`: no bearer token, or one that no connection accepts.
    #[error("SCIM-AUTH: a valid bearer token is required")]
    Unauthorized,
    /// 429 `SCIM-RATE-LIMIT`: the connection sent more requests than its limit allows.
    #[error("SCIM-RATE-LIMIT: too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 403 `SCIM-FORBIDDEN`: the operation is not allowed on this resource.
    #[error("SCIM-FORBIDDEN: {0}")]
    Forbidden(String),
    /// 412 `SCIM-PRECONDITION`: `If-Match` names a version the resource no longer has.
    #[error("SCIM-PRECONDITION: the resource has changed (current version {current})")]
    PreconditionFailed { current: String },
    /// 413 `SCIM-TOO-LARGE`: the body is larger than the configured limit.
    #[error("SCIM-TOO-LARGE: the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 413 `SCIM-BULK-TOO-MANY`: a bulk request with more operations than `maxOperations`.
    #[error("SCIM-BULK-TOO-MANY: a bulk request may hold at most {max} operations")]
    TooManyOperations { max: usize },
    /// 415 `SCIM-MEDIA-TYPE`: a body that is declared as something other than JSON.
    #[error("SCIM-MEDIA-TYPE: send application/scim+json (or application/json)")]
    UnsupportedMediaType,
    /// 503 `SCIM-BUSY`: the database did not answer in time; the IdP should retry.
    #[error("SCIM-BUSY: the service is busy; retry")]
    Busy,
    /// 500 `SCIM-INTERNAL`: our fault. The detail is logged, never sent.
    #[error("SCIM-INTERNAL: {0}")]
    Internal(String),
}

impl ScimHttpError {
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::Protocol(e) => e.status(),
            Self::Unauthorized => 401,
            Self::RateLimited { .. } => 429,
            Self::Forbidden(_) => 403,
            Self::PreconditionFailed { .. } => 412,
            Self::PayloadTooLarge { .. } | Self::TooManyOperations { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::Busy => 503,
            Self::Internal(_) => 500,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The RFC 7644 §3.12 body.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Protocol(e) => e.to_json(),
            Self::Internal(_) => json!({
                "schemas": [ERROR_SCHEMA],
                "status": "500",
                "detail": "SCIM-INTERNAL: internal error; see the idp-sync log",
            }),
            other => json!({
                "schemas": [ERROR_SCHEMA],
                "status": other.status().as_u16().to_string(),
                "detail": other.to_string(),
            }),
        }
    }
}

impl IntoResponse for ScimHttpError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(detail) => tracing::error!(error = %detail, "SCIM request failed"),
            Self::Protocol(e) => tracing::debug!(error = %e, "SCIM request refused"),
            other => tracing::debug!(error = %other, "SCIM request refused"),
        }
        let mut response = (self.status(), self.to_json().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_CONTENT_TYPE),
        );
        match &self {
            Self::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"idp-sync SCIM\""),
                );
            }
            Self::RateLimited { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            Self::Busy => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ScimHttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnsupportedFilter(detail) => ScimError::invalid_filter(
                crate::scim::ErrorCode::FilterType,
                format!("this filter cannot be evaluated: {detail}"),
            )
            .into(),
            StoreError::NotFound => ScimError::not_found("no such resource").into(),
            StoreError::Conflict(kind) => ScimError::uniqueness(conflict_detail(kind)).into(),
            StoreError::VersionMismatch { actual, .. } => Self::PreconditionFailed {
                current: format!("W/\"{actual}\""),
            },
            StoreError::ForeignKey(detail) => {
                ScimError::invalid_value(format!("a referenced resource does not exist: {detail}"))
                    .into()
            }
            e if e.is_busy() => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

fn conflict_detail(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::UserNameTaken => "a user with this userName already exists",
        ConflictKind::ExternalIdTaken => "a user with this externalId already exists",
        ConflictKind::SsoSubjectTaken => "a user with this SSO subject already exists",
        ConflictKind::GroupExternalIdTaken => "a group with this externalId already exists",
        ConflictKind::UserIdTaken | ConflictKind::GroupIdTaken => "this id is already taken",
        _ => "a unique value is already taken",
    }
}
