//! What webhooks and connectors share: the HTTP client (rustls, no redirects, timeouts),
//! sending a request and reading its outcome as the retry policy sees it, and the
//! signature header.

use super::retry::{Failure, StatusClass, classify_status, parse_retry_after};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, SystemTime};

/// Connecting may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request, answer included, may take this long (well under the claim lease).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The client every outbound delivery uses: redirects are not followed (a 3xx is an
/// answer, and final), `http://` and loopback targets are allowed (the operator wrote
/// them, DESIGN §10 "Targets").
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("idp-sync/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends `request`: `Ok` on 2xx, else the failure the status or error means.
pub async fn send(request: reqwest::RequestBuilder) -> Result<(), Failure> {
    let response = request
        .send()
        .await
        .map_err(|e| Failure::retryable(format!("network error: {}", error_chain(&e))))?;
    let status = response.status().as_u16();
    match classify_status(status) {
        StatusClass::Success => Ok(()),
        class => {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            let reason = format!("HTTP {status}");
            Err(if class == StatusClass::Retry {
                Failure::Retryable {
                    reason,
                    retry_after,
                }
            } else {
                Failure::Permanent(reason)
            })
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `t=<t>,v1=<hex>` with one `v1` per secret.
pub fn sign_header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&signature(secret, t, body));
    }
    header
}

/// Hex HMAC-SHA256(secret, `"{t}.{body}"`).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, br#"{"a":1}"#),
            "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }

    #[test]
    fn two_secrets_two_signatures() {
        let h = sign_header(&["a", "b"], 5, b"x");
        let parts: Vec<&str> = h.split(',').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "t=5");
        assert_eq!(parts[1], format!("v1={}", signature("a", 5, b"x")));
        assert_eq!(parts[2], format!("v1={}", signature("b", 5, b"x")));
    }
}
