//! An administrator's actions on one invitation — resend and revoke — shared by the admin
//! API and the CLI (`idp-sync invitations resend|revoke`), so both follow one code path.

use super::lifecycle::{RenewError, reissue};
use crate::config::Config;
use crate::domain::{AuditEvent, Cause, Invitation, InvitationStatus};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    #[error("no invitation with id {0}")]
    NotFound(String),
    /// Accepted or revoked, or the user is no longer invited.
    #[error("{0}")]
    Closed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends a fresh link to the same address (a new invitation; the old link stops
/// working). Returns the new invitation.
pub async fn resend(
    store: &dyn Store,
    config: &Config,
    id: &str,
    actor: &str,
    cause: &Cause,
    now: DateTime<Utc>,
) -> Result<Invitation, InvitationError> {
    let mut tx = store.begin().await?;
    let old = tx
        .get_invitation(id)
        .await?
        .ok_or_else(|| InvitationError::NotFound(id.to_owned()))?;
    if matches!(
        old.status,
        InvitationStatus::Accepted | InvitationStatus::Revoked
    ) {
        return Err(InvitationError::Closed(format!(
            "the invitation is {}; only a pending or expired one can be resent",
            old.status.as_str()
        )));
    }
    let new = match reissue(tx.as_mut(), config, &old, cause, actor, now).await {
        Ok(new) => new,
        Err(RenewError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(InvitationError::Closed(e.to_string())),
    };
    tx.commit().await?;
    Ok(new)
}

/// Makes a pending invitation's link stop working; returns whether it was pending (a
/// revoked, accepted or expired one is left as it is).
pub async fn revoke(
    store: &dyn Store,
    id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<bool, InvitationError> {
    let mut tx = store.begin().await?;
    let invitation = tx
        .get_invitation(id)
        .await?
        .ok_or_else(|| InvitationError::NotFound(id.to_owned()))?;
    if invitation.status != InvitationStatus::Pending {
        return Ok(false);
    }
    tx.set_invitation_status(id, InvitationStatus::Revoked)
        .await?;
    let mut event =
        AuditEvent::new("invitation.revoked", actor, now).with_detail(json!({ "invitation": id }));
    event.user_id = Some(invitation.user_id.clone());
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(true)
}

/// An invitation as the admin API and the CLI show it (never its token or hash).
pub fn invitation_json(i: &Invitation, now: DateTime<Utc>) -> serde_json::Value {
    json!({
        "id": i.id,
        "user_id": i.user_id,
        "email": i.email,
        "invited_by": i.invited_by,
        "status": i.effective_status(now).as_str(),
        "access": i.access,
        "created_at": i.created_at,
        "expires_at": i.expires_at,
        "renewed_from": i.renewed_from,
    })
}
