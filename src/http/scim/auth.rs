//! SCIM authentication and rate limiting. The bearer token selects the connection: every
//! connection's tokens (at most two, for rotation) are compared in constant time against
//! their stored SHA-256 digests. Each connection then has its own token bucket, so one
//! noisy IdP cannot starve another; an exhausted bucket is answered 429 with `Retry-After`.

use super::error::ScimHttpError;
use crate::config::Config;
use crate::domain::ConnectionId;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};

/// Requests per second a connection may send when `[connections.scim] rate_limit_per_second`
/// is not set. Bursts of twice this are absorbed (Entra sends membership changes in bursts).
pub const DEFAULT_RATE_PER_SECOND: u32 = 2_000;

/// The connection a SCIM request authenticated as, with the config it is served under
/// (one consistent snapshot for the whole request).
pub struct ScimClient {
    pub connection: ConnectionId,
    pub config: Arc<Config>,
}

impl FromRequestParts<AppState> for ScimClient {
    type Rejection = ScimHttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let config = state.config.current();
        let Some(token) = bearer_token(parts) else {
            metrics::counter!("idp_sync_scim_auth_failures_total", "reason" => "missing")
                .increment(1);
            return Err(ScimHttpError::Unauthorized);
        };
        let found = config.connections.iter().find_map(|c| {
            let scim = c.scim.as_ref()?;
            scim.tokens
                .verify(token)
                .then(|| (c.id.clone(), scim.rate_limit_per_second))
        });
        let Some((connection, rate)) = found else {
            metrics::counter!("idp_sync_scim_auth_failures_total", "reason" => "unknown_token")
                .increment(1);
            tracing::warn!("SCIM request with an unknown bearer token refused");
            return Err(ScimHttpError::Unauthorized);
        };
        state
            .scim_limits
            .check(&connection, rate.unwrap_or(DEFAULT_RATE_PER_SECOND))?;
        Ok(Self { connection, config })
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// One token bucket per connection, rebuilt when the connection's configured rate changes.
#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<ConnectionId, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl RateLimits {
    pub fn check(&self, connection: &ConnectionId, per_second: u32) -> Result<(), ScimHttpError> {
        let limiter = {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            match buckets.get(connection) {
                Some((rate, limiter)) if *rate == per_second => limiter.clone(),
                _ => {
                    let limiter = Arc::new(RateLimiter::direct(quota(per_second)));
                    buckets.insert(connection.clone(), (per_second, limiter.clone()));
                    limiter
                }
            }
        };
        limiter.check().map_err(|not_until| {
            metrics::counter!("idp_sync_scim_rate_limited_total", "connection" => connection.to_string())
                .increment(1);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ScimHttpError::RateLimited {
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }
}

fn quota(per_second: u32) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(per_second.saturating_mul(2).max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_past_its_burst_and_says_when_to_retry() {
        let limits = RateLimits::default();
        let conn = ConnectionId::from("okta");
        for _ in 0..4 {
            assert!(limits.check(&conn, 2).is_ok());
        }
        match limits.check(&conn, 2) {
            Err(ScimHttpError::RateLimited { retry_after_secs }) => assert!(retry_after_secs >= 1),
            other => panic!("expected 429, got {other:?}"),
        }
        // Another connection has its own bucket; a changed rate gets a fresh one.
        assert!(limits.check(&ConnectionId::from("entra"), 2).is_ok());
        assert!(limits.check(&conn, 100).is_ok());
    }
}
