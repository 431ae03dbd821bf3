//! Admin authentication: `Authorization: Bearer <token>` checked in constant time against
//! the SHA-256 digests of every `[[admin_tokens]]` entry; the matching entry's name and role
//! travel with the request (the name is the actor in the audit log: `admin:<name>`).

use crate::config::Config;
use crate::domain::RoleName;
use crate::http::AppState;
use crate::http::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use std::sync::Arc;

pub struct AdminClient {
    pub name: String,
    pub role: RoleName,
    pub config: Arc<Config>,
}

impl AdminClient {
    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }
}

impl FromRequestParts<AppState> for AdminClient {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let config = state.config.current();
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty())
            .map(|(_, t)| t.trim().to_owned());
        let Some(token) = token else {
            return Err(ApiError::Unauthorized);
        };
        let found = config
            .admin_tokens
            .iter()
            .find(|t| t.tokens.verify(&token))
            .map(|t| (t.name.clone(), t.role.clone()));
        match found {
            Some((name, role)) => Ok(Self { name, role, config }),
            None => {
                metrics::counter!("idp_sync_admin_auth_failures_total").increment(1);
                tracing::warn!("admin API request with an unknown bearer token refused");
                Err(ApiError::Unauthorized)
            }
        }
    }
}
