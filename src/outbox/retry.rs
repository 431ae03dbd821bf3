//! The retry policy (DESIGN §10 "Delivery timing"): what an attempt's outcome means and
//! when the next attempt is due.
//!
//! - 2xx is success; 408, 429, 5xx and network errors are retried; any other status is
//!   final (dead letter at once).
//! - Backoff is exponential with "equal jitter": attempt *n* (1-based) waits a uniformly
//!   random time in `[d/2, d]` where `d = min(backoff_max, backoff_base · 2^(n-1))`, and
//!   never less than `backoff_base`. Half the delay stays deterministic so retries keep
//!   spreading out; the random half keeps replicas and many failing deliveries from
//!   retrying in lockstep. A small function instead of a crate: the worker keeps the
//!   attempt count in the database, not in a crate's in-memory iterator.
//! - A `Retry-After` answer (seconds or an HTTP date) is a lower bound on the wait.
//! - Past `max_age` since the event (or since an admin revived the delivery) the delivery
//!   is dead-lettered instead of scheduled.

use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime};

/// How one attempt ended, as far as retrying cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again (408, 429, 5xx, network errors, SMTP 4xx).
    Retryable {
        reason: String,
        /// From a `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// Will not succeed by repeating it (other 4xx, SMTP 5xx, a missing destination).
    Permanent(String),
}

impl Failure {
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Retryable { reason, .. } | Self::Permanent(reason) => reason,
        }
    }
}

/// What an HTTP status means for delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    Retry,
    Final,
}

pub fn classify_status(status: u16) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 429 | 500..=599 => StatusClass::Retry,
        _ => StatusClass::Final,
    }
}

/// `Retry-After` as a wait from `now`: delta-seconds or an HTTP date (a date in the past
/// is no wait). `None` when absent or unreadable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait before attempt `attempt + 1`, after `attempt` (≥ 1) failed; `unit` ∈ [0, 1)
/// is the random draw.
pub fn backoff(attempt: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(40);
    let ceiling = base
        .checked_mul(1u32 << exp.min(31))
        .unwrap_or(max)
        .min(max)
        .max(base);
    let half = ceiling / 2;
    let jitter = half.mul_f64(unit.clamp(0.0, 1.0));
    (half + jitter).max(base.min(max))
}

/// The limits of `[delivery]`.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_age: Duration,
}

/// What to record after a failed attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    RetryAt(DateTime<Utc>),
    Dead(String),
}

impl RetryPolicy {
    /// After `attempts` failed attempts of a delivery whose age counts from `since`.
    pub fn next(
        &self,
        failure: &Failure,
        attempts: u32,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        unit: f64,
    ) -> Next {
        let (reason, retry_after) = match failure {
            Failure::Permanent(reason) => return Next::Dead(reason.clone()),
            Failure::Retryable {
                reason,
                retry_after,
            } => (reason, *retry_after),
        };
        let mut wait = backoff(attempts, self.backoff_base, self.backoff_max, unit);
        if let Some(after) = retry_after {
            wait = wait.max(after);
        }
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let deadline =
            since + chrono::Duration::from_std(self.max_age).unwrap_or(chrono::Duration::MAX);
        let at = now
            .checked_add_signed(wait)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if at > deadline {
            Next::Dead(format!(
                "gave up after {attempts} attempts (max_age {}): {reason}",
                humantime::format_duration(self.max_age)
            ))
        } else {
            Next::RetryAt(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn statuses() {
        assert_eq!(classify_status(204), StatusClass::Success);
        for s in [408, 429, 500, 503, 599] {
            assert_eq!(classify_status(s), StatusClass::Retry, "{s}");
        }
        for s in [301, 400, 401, 404, 410, 422] {
            assert_eq!(classify_status(s), StatusClass::Final, "{s}");
        }
    }

    #[test]
    fn backoff_grows_within_bounds() {
        let max = Duration::from_secs(300);
        assert_eq!(backoff(1, S, max, 0.0), S);
        assert_eq!(backoff(1, S, max, 0.999), S);
        assert_eq!(backoff(3, S, max, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(3, S, max, 1.0), Duration::from_secs(4));
        for n in 1..100 {
            let d = backoff(n, S, max, 0.5);
            assert!(d >= S && d <= max, "{n}: {d:?}");
        }
        assert_eq!(backoff(60, S, max, 1.0), max);
        assert_eq!(backoff(60, S, max, 0.0), max / 2);
    }

    #[test]
    fn retry_after_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_is_a_lower_bound_and_max_age_ends_it() {
        let p = RetryPolicy {
            backoff_base: S,
            backoff_max: Duration::from_secs(10),
            max_age: Duration::from_secs(3600),
        };
        let now = Utc::now();
        let f = Failure::Retryable {
            reason: "503".into(),
            retry_after: Some(Duration::from_secs(600)),
        };
        assert_eq!(
            p.next(&f, 1, now, now, 0.0),
            Next::RetryAt(now + chrono::Duration::seconds(600))
        );
        let old = now - chrono::Duration::seconds(3599);
        assert!(matches!(p.next(&f, 9, old, now, 0.0), Next::Dead(r) if r.contains("503")));
        assert!(matches!(
            p.next(&Failure::Permanent("404".into()), 1, now, now, 0.0),
            Next::Dead(r) if r == "404"
        ));
    }
}
