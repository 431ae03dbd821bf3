//! What a session is good for: `GET /session` (who is signed in, as JSON), `POST /logout`,
//! `GET /auth/verify` for reverse proxies, and the home page `/`.
//!
//! A session is valid while it is not revoked, younger than `sessions.absolute_timeout`,
//! used within `sessions.idle_timeout`, and its user is invited or active with access.
//! Suspension and removal revoke sessions in the same transaction (the lifecycle), and the
//! user's state is checked on every request besides, so an old cookie stops working at
//! once. Activity is recorded at most once a minute per session (not a write per request).

use super::signin::session_cookie;
use super::{SESSION_COOKIE, cookie, wants_json};
use crate::config::Config;
use crate::domain::{Access, Session, User, UserState};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::pages;
use crate::outbox::{access_json, user_json};
use crate::reconcile::lifecycle::token_hash;
use crate::store::StoreError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use minijinja::context;
use serde_json::json;

/// How often a session's `last_seen_at` is written at most.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/session", get(show))
        .route("/logout", post(logout))
        .route("/auth/verify", get(verify))
}

/// A valid session with its user and their access.
pub struct Current {
    pub session: Session,
    pub user: User,
    pub access: Access,
}

/// The session of this request, if it has a valid one.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<Current>, StoreError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let config = state.config.current();
    let id_hash = token_hash(&value);
    let mut read = state.store.read().await?;
    let Some(session) = read.get_session(&id_hash).await? else {
        return Ok(None);
    };
    let idle =
        chrono::Duration::from_std(config.sessions.idle).unwrap_or(chrono::Duration::hours(8));
    if session.revoked_at.is_some()
        || now >= session.expires_at
        || now - session.last_seen_at >= idle
    {
        return Ok(None);
    }
    let Some(user) = read.get_user(&session.user_id).await? else {
        return Ok(None);
    };
    if !user.active || !matches!(user.state, UserState::Invited | UserState::Active) {
        return Ok(None);
    }
    let Some(access) = read.get_access(&user.id).await? else {
        return Ok(None);
    };
    drop(read);
    if now - session.last_seen_at >= chrono::Duration::seconds(TOUCH_INTERVAL_SECONDS) {
        let mut tx = state.store.begin().await?;
        tx.touch_session(&id_hash, now).await?;
        tx.commit().await?;
    }
    Ok(Some(Current {
        session,
        user,
        access: access.resolved.access,
    }))
}

/// `GET /session`: DESIGN §10's shape, or 401 with a JSON error.
async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current(&state, &headers, Utc::now()).await {
        Ok(Some(c)) => no_store(Json(json!({
            "user": user_json(&c.user),
            "connection": c.session.connection.as_str(),
            "access": access_json(&c.access),
            "session": { "expires_at": c.session.expires_at },
        }))),
        Ok(None) => no_store((
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "code": "AUTH-REQUIRED", "message": "not signed in" } })),
        )),
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// `GET /auth/verify`: 200 with the user's headers, or 401 (nginx `auth_request`, Traefik
/// ForwardAuth). 503 when the database does not answer, so the proxy fails closed.
async fn verify(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match current(&state, &headers, Utc::now()).await {
        Ok(Some(c)) => {
            let mut response = StatusCode::OK.into_response();
            let h = response.headers_mut();
            let organizations = c
                .access
                .organizations
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(",");
            for (name, value) in [
                ("x-idp-sync-user", c.user.user_name.as_str()),
                ("x-idp-sync-user-id", c.user.id.as_str()),
                ("x-idp-sync-email", c.user.email.as_deref().unwrap_or("")),
                ("x-idp-sync-role", c.access.role.as_str()),
                ("x-idp-sync-orgs", organizations.as_str()),
                (
                    "x-idp-sync-groups",
                    &c.access
                        .groups
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ] {
                if let Ok(v) = HeaderValue::from_str(value) {
                    h.insert(HeaderName::from_static(name), v);
                }
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            [(header::CACHE_CONTROL, "no-store")],
        )
            .into_response(),
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// `POST /logout`: revokes the session and clears the cookie; 303 to `/` for a browser,
/// 200 JSON when asked. A request without a session is answered the same way.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.config.current();
    let now = Utc::now();
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        let revoked = async {
            let mut tx = state.store.begin().await?;
            let revoked = tx.revoke_session(&token_hash(&value), now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(revoked)
        }
        .await;
        match revoked {
            Ok(true) => tracing::debug!("session revoked at logout"),
            Ok(false) => {}
            Err(e) => return ApiError::Unavailable(e.to_string()).into_response(),
        }
    }
    let mut response = if wants_json(&headers) {
        Json(json!({ "signed_out": true })).into_response()
    } else {
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&config, "", true)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// `GET /`: who is signed in, or the sign-in buttons of every connection with SSO.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.config.current();
    match current(&state, &headers, Utc::now()).await {
        Ok(Some(c)) => pages::page(
            StatusCode::OK,
            "home.html",
            context! {
                title => "Signed in",
                application => pages::application(&config),
                user => c.user.event_display_name().or(c.user.email.clone()).unwrap_or(c.user.user_name.clone()),
                connection => connection_label(&config, &c.session),
                role => c.access.role.to_string(),
                organizations => pages::organization_names(&config, &c.access.organizations),
            },
        ),
        Ok(None) => pages::page(
            StatusCode::OK,
            "home.html",
            context! {
                title => "Sign in",
                application => pages::application(&config),
                sign_in => pages::sign_in_links(&config, None, None),
            },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "home page: database unavailable");
            pages::unavailable(&config, "UNAVAILABLE")
        }
    }
}

fn connection_label(config: &Config, session: &Session) -> String {
    config.connection(&session.connection).map_or_else(
        || session.connection.to_string(),
        |c| pages::kind_label(c.kind).to_owned(),
    )
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
