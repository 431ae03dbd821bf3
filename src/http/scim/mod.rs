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
use axum::routing::{any, get, post};
use error::ScimHttpError;

/// Where the SCIM endpoints are.
pub const BASE_PATH: &str = "/scim/v2";

/// The SCIM routes under [`BASE_PATH`], spelled out in full rather than nested: a nested
/// router rewrites every request's URI (a new path string and a re-parsed `Uri`, about
/// 2% of a `GET /Users/{id}`'s instructions). Any other path under the base is answered
/// with SCIM's own 404.
pub fn routes() -> Router<AppState> {
    use handlers as h;
    use ops::{Groups, Users};
    let at = |path: &str| format!("{BASE_PATH}{path}");
    Router::new()
        .route(
            &at("/ServiceProviderConfig"),
            get(discovery::service_provider_config),
        )
        .route(&at("/ResourceTypes"), get(discovery::resource_types))
        .route(&at("/ResourceTypes/{name}"), get(discovery::resource_type))
        .route(&at("/Schemas"), get(discovery::schemas))
        .route(&at("/Schemas/{id}"), get(discovery::schema))
        .route(
            &at("/Users"),
            get(h::list::<Users>).post(h::create::<Users>),
        )
        .route(&at("/Users/.search"), post(h::search::<Users>))
        .route(
            &at("/Users/{id}"),
            get(h::get::<Users>)
                .put(h::replace::<Users>)
                .patch(h::patch::<Users>)
                .delete(h::delete::<Users>),
        )
        .route(
            &at("/Groups"),
            get(h::list::<Groups>).post(h::create::<Groups>),
        )
        .route(&at("/Groups/.search"), post(h::search::<Groups>))
        .route(
            &at("/Groups/{id}"),
            get(h::get_group)
                .put(h::replace::<Groups>)
                .patch(h::patch::<Groups>)
                .delete(h::delete::<Groups>),
        )
        .route(&at("/.search"), post(h::search_all))
        .route(&at("/Bulk"), post(bulk::bulk))
        .route(BASE_PATH, any(not_found))
        .route(&at("/"), any(not_found))
        .route(&at("/{*rest}"), any(not_found))
}

async fn not_found() -> ScimHttpError {
    ScimError::not_found("no such SCIM endpoint").into()
}
