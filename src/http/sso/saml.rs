//! The SAML service provider's endpoints (DESIGN §5): `/sso/saml/{connection}/metadata`,
//! `/login` (SP-initiated: an AuthnRequest over the Redirect binding, its ID remembered as
//! the pending login's key) and `/acs` (the POST binding).
//!
//! The protocol checks are `sso::saml`'s; this module adds what needs the store and the
//! browser: InResponseTo must name a login this browser started on this connection (a
//! response without one is IdP-initiated and accepted only where the connection allows
//! it, its RelayState then going through `safe_return_to`), and each assertion is
//! accepted once (the replay cache in the database, shared by replicas). Verification is
//! CPU-bound C, so it runs on the blocking pool.

use super::{LoginQuery, Pending, begin_login, finish, refuse, safe_return_to, take_login};
use crate::config::{Config, Connection, Saml};
use crate::domain::ConnectionId;
use crate::http::AppState;
use crate::http::pages;
use crate::sso::Refusal;
use crate::sso::saml::{
    AttributeNames, SpSettings, authn_request_redirect, decode_post_value, sp_metadata_xml,
    validate_response,
};
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, http};
use chrono::Utc;
use serde::Deserialize;

/// Codes of the refusals decided here (the protocol's own are in `sso::saml::response`).
const IN_RESPONSE_TO: &str = "SAML-IN-RESPONSE-TO";
const UNSOLICITED: &str = "SAML-UNSOLICITED";
const REPLAY: &str = "SAML-REPLAY";
const MALFORMED: &str = "SAML-MALFORMED";
const CONFIG: &str = "SAML-CONFIG";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/saml/{connection}/metadata", get(metadata))
        .route("/sso/saml/{connection}/login", get(login))
        .route("/sso/saml/{connection}/acs", post(acs))
}

/// The form the IdP's page posts to the ACS.
#[derive(Debug, Deserialize)]
pub struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// What DESIGN §10 fixes for a connection's SP: entity id and ACS under `public_url`.
pub fn sp_settings(config: &Config, connection: &Connection, saml: &Saml) -> SpSettings {
    let base = config
        .server
        .public_url
        .join(&format!("/sso/saml/{}", connection.id));
    SpSettings {
        entity_id: format!("{base}/metadata"),
        acs_url: format!("{base}/acs"),
        idp_entity_id: saml.idp.entity_id.clone(),
        idp_sso_url: saml.idp.sso_url.clone(),
        idp_certificates: saml.idp.certificates.clone(),
        sp_key_pem: saml.sp_key_pem.clone(),
        sp_cert_pem: saml.sp_cert_pem.clone(),
        allow_sha1: saml.allow_sha1,
        clock_skew: chrono::Duration::from_std(saml.clock_skew)
            .unwrap_or_else(|_| chrono::Duration::minutes(2)),
        attributes: AttributeNames {
            email: saml.attributes.email.clone(),
            first_name: saml.attributes.first_name.clone(),
            last_name: saml.attributes.last_name.clone(),
            groups: saml.attributes.groups.clone(),
            immutable_id: saml.attributes.immutable_id.clone(),
        },
    }
}

/// The connection and its SAML settings (`None`: answer [`no_saml`]).
fn saml_connection(config: &Config, id: &str) -> Option<(ConnectionId, SpSettings, bool)> {
    let connection = config.connections.iter().find(|c| c.id.as_str() == id)?;
    let saml = connection.saml.as_ref()?;
    Some((
        connection.id.clone(),
        sp_settings(config, connection, saml),
        saml.allow_idp_initiated,
    ))
}

/// The 404 page for an unknown connection or one without SAML.
fn no_saml(config: &Config) -> Response {
    pages::message(
        config,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no SAML sign-in here.",
        Some("SSO-CONNECTION"),
    )
}

fn config_refusal(detail: impl Into<String>) -> Refusal {
    Refusal::new(
        CONFIG,
        StatusCode::BAD_REQUEST,
        "This sign-in is not set up correctly; please tell your administrator.",
    )
    .detail(detail)
}

async fn metadata(State(state): State<AppState>, Path(connection): Path<String>) -> Response {
    let config = state.config.current();
    let (_, sp, _) = match saml_connection(&config, &connection) {
        Some(found) => found,
        None => return no_saml(&config),
    };
    match sp_metadata_xml(&sp) {
        Ok(xml) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/samlmetadata+xml"),
            )],
            xml,
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, connection, "SP metadata could not be built");
            super::refusal::render(&config, &config_refusal(e.to_string()), &HeaderMap::new())
        }
    }
}

async fn login(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let config = state.config.current();
    let (id, sp, _) = match saml_connection(&config, &connection) {
        Some(found) => found,
        None => return no_saml(&config),
    };
    let request = match authn_request_redirect(&sp, Utc::now()) {
        Ok(r) => r,
        Err(e) => return refuse(&state, Some(&id), config_refusal(e.to_string()), &headers).await,
    };
    let (_, cookie) =
        match begin_login(&state, &id, &headers, &request.id, &query, None, None).await {
            Ok(started) => started,
            Err(page) => return page,
        };
    let Ok(location) = HeaderValue::from_str(&request.url) else {
        let refusal = config_refusal("the IdP's SSO URL does not fit in a Location header");
        return refuse(&state, Some(&id), refusal, &headers).await;
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::SET_COOKIE, cookie);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn acs(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AcsForm>, FormRejection>,
) -> Response {
    let config = state.config.current();
    let (id, sp, allow_idp_initiated) = match saml_connection(&config, &connection) {
        Some(found) => found,
        None => return no_saml(&config),
    };
    let refused = |refusal: Refusal| {
        let state = state.clone();
        let id = id.clone();
        let headers = headers.clone();
        async move { refuse(&state, Some(&id), refusal, &headers).await }
    };
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) => {
            let status = match e.status() {
                http::StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            let refusal = Refusal::new(
                MALFORMED,
                status,
                "The sign-in response from your identity provider could not be read.",
            )
            .detail(format!("ACS form: {e}"));
            return refused(refusal).await;
        }
    };
    let Some(value) = form.saml_response else {
        let refusal = Refusal::new(
            MALFORMED,
            StatusCode::BAD_REQUEST,
            "The sign-in response from your identity provider could not be read.",
        )
        .detail("no SAMLResponse in the form");
        return refused(refusal).await;
    };
    let verified = tokio::task::spawn_blocking(move || {
        let xml = decode_post_value(&value)?;
        validate_response(&sp, &xml, Utc::now()).map(|v| (v, sp.idp_entity_id))
    })
    .await;
    let (verified, idp_entity_id) = match verified {
        Ok(Ok(v)) => v,
        Ok(Err(refusal)) => return refused(refusal).await,
        Err(e) => {
            tracing::warn!(error = %e, connection, "SAML validation task failed");
            let refusal = Refusal::new(
                MALFORMED,
                StatusCode::BAD_REQUEST,
                "The sign-in response from your identity provider could not be read.",
            )
            .detail("the validation task failed");
            return refused(refusal).await;
        }
    };
    let now = Utc::now();
    let replay_key = format!("{idp_entity_id}|{}", verified.assertion_id);
    let (login, relay_return_to) = match &verified.in_response_to {
        Some(request_id) => match take_login(&state, request_id, &headers).await {
            Err(page) => return page,
            Ok(Pending::Found(login)) if login.connection == id => (Some(login), None),
            Ok(Pending::Found(login)) => {
                let refusal = in_response_to_refusal(format!(
                    "InResponseTo {request_id:?} belongs to a login on connection {}",
                    login.connection
                ));
                return refused(refusal).await;
            }
            Ok(Pending::OtherBrowser) => {
                let refusal = in_response_to_refusal(format!(
                    "InResponseTo {request_id:?} was started by another browser"
                ));
                return refused(refusal).await;
            }
            Ok(Pending::Unknown) => {
                // Already used or expired: say "replay" when it is one.
                let refusal =
                    match remember(&state, &replay_key, verified.remember_until, now).await {
                        Err(page) => return page,
                        Ok(false) => replay_refusal(&verified.assertion_id),
                        Ok(true) => in_response_to_refusal(format!(
                            "no login under way with id {request_id:?} (unknown, used or expired)"
                        )),
                    };
                return refused(refusal).await;
            }
        },
        None if !allow_idp_initiated => {
            let refusal = Refusal::new(
                UNSOLICITED,
                StatusCode::FORBIDDEN,
                "Sign-ins started at the identity provider are not accepted here; \
                 please start from the application.",
            )
            .detail("Response without InResponseTo (IdP-initiated) on a connection that does not allow it");
            return refused(refusal).await;
        }
        None => (
            None,
            form.relay_state
                .as_deref()
                .and_then(|raw| safe_return_to(&config, raw)),
        ),
    };
    match remember(&state, &replay_key, verified.remember_until, now).await {
        Err(page) => return page,
        Ok(false) => return refused(replay_refusal(&verified.assertion_id)).await,
        Ok(true) => {}
    }
    finish(
        &state,
        &id,
        verified.identity,
        login,
        relay_return_to,
        &headers,
    )
    .await
}

/// Records the assertion in the replay cache; false when it was seen before.
async fn remember(
    state: &AppState,
    key: &str,
    until: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> Result<bool, Response> {
    state
        .store
        .remember_assertion(key, until, now)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not use the SAML replay cache");
            pages::unavailable(&state.config.current(), "SSO-UNAVAILABLE")
        })
}

fn in_response_to_refusal(detail: String) -> Refusal {
    Refusal::new(
        IN_RESPONSE_TO,
        StatusCode::FORBIDDEN,
        "The sign-in response does not answer a sign-in started in this browser; \
         please sign in again.",
    )
    .detail(detail)
}

fn replay_refusal(assertion_id: &str) -> Refusal {
    Refusal::new(
        REPLAY,
        StatusCode::FORBIDDEN,
        "This sign-in response was already used; please sign in again.",
    )
    .detail(format!("assertion {assertion_id:?} seen before"))
}
