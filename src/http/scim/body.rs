//! Reading SCIM request bodies and writing SCIM responses. Bodies are read as bytes under
//! the configured size limit and parsed here, so that oversize, non-JSON or malformed input
//! is answered in SCIM's error form (413, 415, 400 `invalidSyntax`) instead of axum's text.

use super::error::{SCIM_CONTENT_TYPE, ScimHttpError};
use crate::http::AppState;
use crate::scim::error::ScimError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A request body that is a JSON value (object or array), parsed.
pub struct ScimJson(pub Value);

impl FromRequest<AppState> for ScimJson {
    type Rejection = ScimHttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or("").trim();
            let json_like = essence.is_empty()
                || essence == "application/json"
                || essence == SCIM_CONTENT_TYPE
                || essence.ends_with("+json");
            if !json_like {
                return Err(ScimHttpError::UnsupportedMediaType);
            }
        }
        let limit =
            usize::try_from(state.config.current().server.max_body_bytes).unwrap_or(usize::MAX);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ScimHttpError::PayloadTooLarge { limit },
                _ => ScimError::invalid_syntax(format!(
                    "the request body could not be read: {rejection}"
                ))
                .into(),
            }
        })?;
        parse_json(&bytes).map(ScimJson)
    }
}

/// Parses a body; the error says where the JSON went wrong.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ScimHttpError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax(
            "the request body is empty; a JSON object is expected",
        )
        .into());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ScimHttpError::from(ScimError::invalid_syntax(format!(
            "the request body is not valid JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        )))
    })?;
    if contains_nul(&value) {
        // Valid JSON, but no engine can store it (PostgreSQL text and JSONB refuse NUL).
        return Err(ScimError::invalid_value(
            "strings may not contain the NUL character (\\u0000)",
        )
        .into());
    }
    Ok(value)
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// A response body: a JSON tree, or JSON already written (a User's default response,
/// [`crate::scim::resource::write_user`]).
pub enum Body {
    Tree(Value),
    Json(Vec<u8>),
}

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Self::Tree(value)
    }
}

/// A SCIM response: JSON body, `application/scim+json`, and optionally `ETag` and `Location`.
pub struct ScimResponse {
    pub status: StatusCode,
    pub body: Option<Body>,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl ScimResponse {
    pub fn ok(body: impl Into<Body>) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(body.into()),
            etag: None,
            location: None,
        }
    }

    pub fn created(body: impl Into<Body>, location: String) -> Self {
        Self {
            status: StatusCode::CREATED,
            body: Some(body.into()),
            etag: None,
            location: Some(location),
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            etag: None,
            location: None,
        }
    }

    pub fn not_modified(etag: String) -> Self {
        Self {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            etag: Some(etag),
            location: None,
        }
    }

    #[must_use]
    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

/// A JSON value as bytes, as `to_string` writes it.
fn json_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(1_024);
    // Writing to a Vec cannot fail, and a `Value`'s map keys are strings.
    let _ = serde_json::to_writer(&mut out, value);
    out
}

impl IntoResponse for ScimResponse {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            // `to_vec`, not `to_string`: `Value`'s `Display` goes through the formatting
            // machinery for every token.
            Some(Body::Tree(body)) => (self.status, json_bytes(&body)).into_response(),
            Some(Body::Json(bytes)) => (self.status, bytes).into_response(),
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        if self.status != StatusCode::NO_CONTENT && self.status != StatusCode::NOT_MODIFIED {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(SCIM_CONTENT_TYPE),
            );
        }
        if let Some(etag) = self.etag.and_then(|e| HeaderValue::from_str(&e).ok()) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}
