//! Webhook delivery (DESIGN §10 "Webhook signature"): POST the event body, signed.
//!
//! Headers: `Content-Type: application/json`, `Idempotency-Key: <event id>`, and
//! `Idp-Sync-Signature: t=<unix>,v1=<hex>[,v1=<hex>]` where each `v1` is
//! HMAC-SHA256(secret's UTF-8 bytes, `"{t}.{raw body}"`), one per configured secret (two
//! while rotating) and `t` the time of this attempt. The body bytes are the stored
//! payload serialised once per attempt; the signature covers exactly the bytes sent.

use super::http::{send, sign_header};
use super::retry::Failure;
use crate::config::{Webhook, expose_secret};

/// Delivers `body` (the event's JSON) to `webhook`.
pub async fn deliver(
    client: &reqwest::Client,
    webhook: &Webhook,
    event_id: &str,
    body: &[u8],
    now_unix: i64,
) -> Result<(), Failure> {
    let secrets: Vec<&str> = webhook.secrets.iter().map(expose_secret).collect();
    let signature = sign_header(&secrets, now_unix, body);
    let request = client
        .post(webhook.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", event_id)
        .header("Idp-Sync-Signature", signature)
        .body(body.to_vec());
    send(request).await
}
