//! The outbox: durable events and their delivery to email, webhooks and connectors
//! (DESIGN §6, §10 "Events", "Webhook signature", "Delivery timing", "Connectors").
//!
//! Writers (the lifecycle: SCIM, SSO, reconcile, admin) build an event with
//! [`build_event`] and call [`enqueue`] inside the transaction of the change that caused
//! it, then [`Waker::wake`] after the commit. The [`Worker`] (started by `serve`) does the
//! rest: it claims due deliveries, sends them, and records delivered / retry / dead.
//! Admins revive dead letters with [`retry_dead`].
//!
//! Files: `event` (the body and the destinations), `retry` (status classes, backoff,
//! `Retry-After`, `max_age`), `http` (client and signature), `webhook`, `connector`,
//! `email` (and its crash-safety scheme), `worker`.
//!
//! Must not touch: HTTP routing (`http`), SCIM or SSO. It reads the config through a
//! [`ConfigHandle`](crate::config::ConfigHandle) so a reload applies to the next attempt.

pub mod connector;
pub mod email;
pub mod event;
mod http;
pub mod retry;
pub mod webhook;
pub mod worker;

pub use email::InvitationSecret;
pub use event::{
    Conflict, EventInput, access_json, build_event, destinations_for, event_body, user_json,
};
pub use http::{sign_header, signature};
pub use worker::{Waker, Worker, WorkerError, WorkerOptions};

use crate::config::Config;
use crate::domain::OutboxEvent;
use crate::store::{DeliveryStatus, Store, StoreError, StoreTx};
use chrono::{DateTime, Utc};

/// Errors of the outbox's admin-facing functions.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No delivery with that event id and destination.
    #[error("no delivery of event {event_id} to {destination}")]
    NotFound {
        event_id: String,
        destination: String,
    },
    /// The delivery is pending or delivered, not dead.
    #[error("the delivery of event {event_id} to {destination} is {status}, not dead")]
    NotDead {
        event_id: String,
        destination: String,
        status: &'static str,
    },
    /// An invitation email's link is erased when its delivery ends; resending it means a
    /// new invitation.
    #[error(
        "an invitation email cannot be retried (its link was erased); resend the invitation instead"
    )]
    EmailNotRetryable,
}

/// The invitation link and address for the `email` delivery of `user.invited` /
/// `invitation.renewed`.
pub fn invitation_secret(config: &Config, token: &str, to: &str) -> InvitationSecret {
    InvitationSecret {
        link: config
            .server
            .public_url
            .join(&format!("/invitations/{token}")),
        to: to.to_owned(),
    }
}

/// Stores `event` with one delivery per destination [`destinations_for`] names, in the
/// caller's transaction; `invitation` (the link, which exists nowhere else) goes to the
/// `email` delivery only. Returns the destinations. Wake the worker after the commit.
pub async fn enqueue(
    tx: &mut dyn StoreTx,
    config: &Config,
    event: &OutboxEvent,
    invitation: Option<&InvitationSecret>,
) -> Result<Vec<String>, StoreError> {
    let destinations = destinations_for(config, event.event_type);
    tx.enqueue_outbox_event(event, &destinations).await?;
    if let Some(secret) = invitation
        && destinations.iter().any(|d| d == event::EMAIL_DESTINATION)
    {
        let value = serde_json::to_value(secret).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.set_delivery_secret(&event.id, event::EMAIL_DESTINATION, &value)
            .await?;
    }
    Ok(destinations)
}

/// Makes a dead delivery pending again (admin API / CLI), due now, with a fresh
/// `max_age`. Invitation emails are refused: resend the invitation instead.
pub async fn retry_dead(
    store: &dyn Store,
    event_id: &str,
    destination: &str,
    now: DateTime<Utc>,
) -> Result<(), OutboxError> {
    if destination == event::EMAIL_DESTINATION {
        return Err(OutboxError::EmailNotRetryable);
    }
    let mut tx = store.begin().await?;
    if tx.revive_dead_delivery(event_id, destination, now).await? {
        tx.commit().await?;
        return Ok(());
    }
    let status = tx
        .list_deliveries(event_id)
        .await?
        .into_iter()
        .find(|d| d.destination == destination)
        .map(|d| d.status);
    tx.rollback().await?;
    Err(match status {
        Some(status) if status != DeliveryStatus::Dead => OutboxError::NotDead {
            event_id: event_id.to_owned(),
            destination: destination.to_owned(),
            status: status.as_str(),
        },
        _ => OutboxError::NotFound {
            event_id: event_id.to_owned(),
            destination: destination.to_owned(),
        },
    })
}
