//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`. They describe the service,
//! hold no personal data, and answer without authentication (RFC 7644 §4 allows it; some
//! IdPs read them before a token is configured).

use super::body::ScimResponse;
use super::error::ScimHttpError;
use super::ops::{BULK_MAX_OPERATIONS, MAX_RESULTS};
use crate::http::AppState;
use crate::scim::discovery::{self, DiscoverySettings};
use crate::scim::error::ScimError;
use axum::extract::{Path, State};

fn settings(state: &AppState) -> DiscoverySettings {
    let config = state.config.current();
    DiscoverySettings {
        base_url: config.server.public_url.join(super::BASE_PATH),
        bulk_max_operations: BULK_MAX_OPERATIONS as u64,
        bulk_max_payload_size: config.server.max_body_bytes,
        filter_max_results: MAX_RESULTS,
        documentation_uri: None,
    }
}

pub async fn service_provider_config(State(state): State<AppState>) -> ScimResponse {
    ScimResponse::ok(discovery::service_provider_config(&settings(&state)))
}

pub async fn resource_types(State(state): State<AppState>) -> ScimResponse {
    ScimResponse::ok(discovery::resource_types(&settings(&state)))
}

pub async fn resource_type(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<ScimResponse, ScimHttpError> {
    discovery::resource_type_by_name(&name, &settings(&state))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")).into())
}

pub async fn schemas(State(state): State<AppState>) -> ScimResponse {
    ScimResponse::ok(discovery::schemas(&settings(&state)))
}

pub async fn schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ScimResponse, ScimHttpError> {
    discovery::schema_by_id(&id, &settings(&state))
        .map(ScimResponse::ok)
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")).into())
}
