//! `/sso/oidc/{connection}/login` and `/sso/oidc/{connection}/callback`: the browser side
//! of the OpenID Connect relying party. The protocol is `crate::sso::oidc`; the pending
//! login (bound to the browser), the sign-in itself and refusal pages are the SSO core's
//! ([`super`]). This file only wires them together:
//!
//! - login: a fresh `state` (the pending login's key), `nonce` and PKCE verifier are
//!   stored with the browser cookie, and the browser is sent (303) to the IdP.
//! - callback: `error=` from the IdP is `OIDC-ERROR` (its login used up); the `state` must name a pending login
//!   this browser started for this connection (`OIDC-STATE`, one use); then the protocol
//!   checks the `iss` parameter (RFC 9207) when there is one, exchanges the code and
//!   verifies the ID token, and the core signs the person in.
//!
//! An unknown connection, or one without OIDC, is a 404.

use super::refusal::render;
use super::{LoginQuery, Pending, begin_login, finish, refuse, take_login};
use crate::config::{Config, TokenAuthMethod};
use crate::domain::ConnectionId;
use crate::http::AppState;
use crate::sso::Refusal;
use crate::sso::oidc::{AuthMethod, Callback, Failure, PendingSecrets, Settings, StaticEndpoints};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/oidc/{connection}/login", get(login))
        .route("/sso/oidc/{connection}/callback", get(callback))
}

/// The redirect URI registered at the IdP for `connection`.
pub fn redirect_uri(config: &Config, connection: &ConnectionId) -> String {
    config
        .server
        .public_url
        .join(&format!("/sso/oidc/{connection}/callback"))
}

/// The protocol settings of `connection`, if it exists and has OIDC.
fn settings(config: &Config, connection: &ConnectionId) -> Option<Settings> {
    let oidc = config.connection(connection)?.oidc.as_ref()?;
    Some(Settings {
        issuer: oidc.issuer.clone(),
        client_id: oidc.client_id.clone(),
        client_secret: oidc.client_secret.clone(),
        redirect_uri: redirect_uri(config, connection),
        groups_claim: oidc.groups_claim.clone(),
        scopes: oidc.scopes.clone(),
        auth_method: match oidc.token_auth_method {
            TokenAuthMethod::ClientSecretBasic => AuthMethod::ClientSecretBasic,
            TokenAuthMethod::ClientSecretPost => AuthMethod::ClientSecretPost,
        },
        endpoints: StaticEndpoints {
            authorization: oidc.authorization_endpoint.clone(),
            token: oidc.token_endpoint.clone(),
            jwks_uri: oidc.jwks_uri.clone(),
            userinfo: oidc.userinfo_endpoint.clone(),
        },
    })
}

async fn login(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    query: Result<Query<LoginQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    // A query that does not parse (a repeated key) starts a plain login to `/`.
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let connection = ConnectionId::new(connection);
    let Some(settings) = settings(&state.config.current(), &connection) else {
        return not_configured(&state, &headers);
    };
    let authorization = match state.sso.oidc.begin(&connection, &settings).await {
        Ok(authorization) => authorization,
        Err(refusal) => return refused(&state, &connection, refusal, &headers).await,
    };
    let cookie = match begin_login(
        &state,
        &connection,
        &headers,
        &authorization.state,
        &query,
        Some(authorization.nonce),
        Some(authorization.pkce_verifier),
    )
    .await
    {
        Ok((_, cookie)) => cookie,
        Err(response) => return response,
    };
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, authorization.url.as_str())],
        [(SET_COOKIE, cookie)],
    )
        .into_response()
}

/// The authorization response (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207's `iss`).
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let connection = ConnectionId::new(connection);
    let Some(settings) = settings(&state.config.current(), &connection) else {
        return not_configured(&state, &headers);
    };
    let (st, conn, hd) = (&state, &connection, &headers);
    let refused = |refusal: Refusal| async move { refused(st, conn, refusal, hd).await };
    let Ok(Query(query)) = query else {
        return refused(Failure::State.refuse("the callback's query string is malformed")).await;
    };
    let key = query.state.as_deref().filter(|s| !s.is_empty());
    if let Some(error) = &query.error {
        // The IdP's own answer wins over whatever became of the state, which is used up
        // all the same.
        if let Some(key) = key
            && let Err(response) = take_login(&state, key, &headers).await
        {
            return response;
        }
        return refused(Failure::Error.refuse(idp_error(error, &query.error_description))).await;
    }
    let Some(key) = key else {
        return refused(Failure::State.refuse("the callback has no state parameter")).await;
    };
    // Taken (one use) before anything else, so a failed attempt cannot be retried.
    let login = match take_login(&state, key, &headers).await {
        Ok(Pending::Found(login)) if login.connection == connection => login,
        Ok(Pending::Found(login)) => {
            return refused(Failure::State.refuse(format!(
                "the state belongs to a login of connection {}",
                login.connection
            )))
            .await;
        }
        Ok(Pending::Unknown) => {
            return refused(Failure::State.refuse("unknown, expired or already used state")).await;
        }
        Ok(Pending::OtherBrowser) => {
            return refused(Failure::State.refuse("the login was started in another browser"))
                .await;
        }
        Err(response) => return response,
    };
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return refused(Failure::Code.refuse("the callback has no code parameter")).await;
    };
    let (Some(nonce), Some(pkce_verifier)) = (login.nonce.clone(), login.pkce_verifier.clone())
    else {
        return refused(Failure::State.refuse("the pending login has no nonce or PKCE verifier"))
            .await;
    };
    let callback = Callback {
        code,
        issuer: query.iss.as_deref(),
    };
    let pending = PendingSecrets {
        nonce,
        pkce_verifier,
    };
    let identity = match state
        .sso
        .oidc
        .complete(
            &connection,
            &settings,
            &callback,
            &pending,
            chrono::Utc::now(),
        )
        .await
    {
        Ok(identity) => identity,
        Err(refusal) => return refused(refusal).await,
    };
    finish(&state, &connection, identity, Some(login), None, &headers).await
}

/// The core's refusal; an unusable IdP is also worth a warning for the operator (its
/// detail names only the IdP's URLs and errors, no personal data).
async fn refused(
    state: &AppState,
    connection: &ConnectionId,
    refusal: Refusal,
    headers: &HeaderMap,
) -> Response {
    if refusal.code == Failure::Provider.code() {
        tracing::warn!(connection = %connection, detail = %refusal.detail, "OIDC provider unusable");
    }
    refuse(state, Some(connection), refusal, headers).await
}

/// 404: no such connection, or it has no OIDC. Not audited: nothing was attempted.
fn not_configured(state: &AppState, headers: &HeaderMap) -> Response {
    let refusal = Refusal::new(
        "SSO-CONNECTION",
        StatusCode::NOT_FOUND,
        "This sign-in is not configured.",
    );
    render(&state.config.current(), &refusal, headers)
}

/// The IdP's error for the audit detail: its code and description, shortened.
fn idp_error(error: &str, description: &Option<String>) -> String {
    let mut text = format!("the IdP answered error={error}");
    if let Some(description) = description {
        text.push_str(": ");
        text.push_str(description);
    }
    text.chars().take(500).collect()
}
