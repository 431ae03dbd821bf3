//! SCIM 2.0 over HTTP (RFC 7644) at `/scim/v2`: authentication and rate limits
//! ([`auth`]), body parsing and responses ([`body`]), errors in SCIM's form ([`error`]), the
//! operations shared by the endpoints and `/Bulk` ([`ops`]), and the handlers. The protocol
//! itself (filters, PATCH, schemas) lives in the pure [`crate::scim`] module; what a write
//! does to the directory lives in [`crate::provision`].

pub mod auth;
pub mod body;
mod bulk;
mod discovery;
pub mod error;
mod handlers;
pub mod ops;

pub use auth::{RateLimits, ScimClient};

use crate::http::AppState;
use crate::scim::error::ScimError;
use axum::Router;
use axum::routing::{get, post};
use error::ScimHttpError;

/// The SCIM routes, to be nested at `/scim/v2`.
pub fn routes() -> Router<AppState> {
    use handlers as h;
    use ops::{Groups, Users};
    Router::new()
        .route(
            "/ServiceProviderConfig",
            get(discovery::service_provider_config),
        )
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{id}", get(discovery::schema))
        .route("/Users", get(h::list::<Users>).post(h::create::<Users>))
        .route("/Users/.search", post(h::search::<Users>))
        .route(
            "/Users/{id}",
            get(h::get::<Users>)
                .put(h::replace::<Users>)
                .patch(h::patch::<Users>)
                .delete(h::delete::<Users>),
        )
        .route("/Groups", get(h::list::<Groups>).post(h::create::<Groups>))
        .route("/Groups/.search", post(h::search::<Groups>))
        .route(
            "/Groups/{id}",
            get(h::get_group)
                .put(h::replace::<Groups>)
                .patch(h::patch::<Groups>)
                .delete(h::delete::<Groups>),
        )
        .route("/.search", post(h::search_all))
        .route("/Bulk", post(bulk::bulk))
        .fallback(not_found)
}

async fn not_found() -> ScimHttpError {
    ScimError::not_found("no such SCIM endpoint").into()
}
