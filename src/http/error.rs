//! JSON errors of idp-sync's own endpoints (admin API, `/session`, probes). Each error
//! has a stable code that users can search for; SCIM and SSO have their own error forms
//! in their modules.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 `NOT-FOUND`: no such route or resource.
    #[error("not found")]
    NotFound,
    /// 401 `AUTH-REQUIRED`: missing or unknown credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403 `FORBIDDEN`: the credentials may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 400 `BAD-REQUEST` (or a more specific code): the caller's input is wrong.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 409 `CONFLICT`: the request clashes with stored state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 503 `UNAVAILABLE`: a dependency (the database) does not answer.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `INTERNAL`: our fault. The detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "NOT-FOUND",
            Self::Unauthorized => "AUTH-REQUIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error; see the server log".to_owned()
            }
            other => other.to_string(),
        };
        let body = json!({ "error": { "code": self.code(), "message": message } });
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, Self::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"idp-sync admin\""),
            );
        }
        response
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}
