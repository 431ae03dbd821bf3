//! The lifecycle (DESIGN §3, §10): what a change of access means for the user and who must
//! be told. Runs in the same transaction as the access change, after
//! [`super::directory_changed`], and turns each [`Recomputed`] result into state changes,
//! invitations and outbox events:
//!
//! | access before → after | state | event |
//! |---|---|---|
//! | none → some, never accepted (or removed by `removal.mode = "delete"`) | invited; a new invitation (256-bit token, only its hash stored, `invitation_ttl`) | `user.invited` (its email carries the link) |
//! | none → some, accepted before | active | `user.activated` (no new invitation) |
//! | some → different | unchanged | `user.access_changed` |
//! | some → none | suspended (removed under `removal.mode = "delete"`, or after a SCIM DELETE); pending invitations and sessions revoked | `user.suspended` / `user.removed` |
//!
//! Conflicts and protected users keep their access, so nothing changes here for them.

use super::Recomputed;
use crate::config::{Config, RemovalMode};
use crate::domain::{
    Access, AuditEvent, Cause, EventType, Invitation, InvitationStatus, Outcome, User, UserState,
};
use crate::outbox::{self, EventInput};
use crate::store::{StoreResult, StoreTx};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Applies the lifecycle consequences of `results` in `tx`. Returns how many outbox events
/// were written (wake the delivery worker after the commit when it is not zero).
pub async fn apply_lifecycle(
    tx: &mut dyn StoreTx,
    config: &Config,
    results: &[Recomputed],
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut events = 0;
    for r in results {
        if r.new_conflict
            && let Outcome::Conflict {
                refused,
                conflict,
                kept,
            } = &r.outcome
        {
            let crate::domain::Conflict::MaxOrganizations { limit, count, .. } = conflict;
            let detail = outbox::Conflict {
                kind: "max_organizations".to_owned(),
                limit: u64::from(*limit),
                count: u64::from(*count),
            };
            let event = outbox::build_event(&EventInput {
                event_type: EventType::AccessConflict,
                occurred_at: now,
                user: &r.user,
                access: Some(&refused.access),
                previous: kept.as_ref(),
                cause,
                conflict: Some(&detail),
                invitation: None,
            });
            outbox::enqueue(tx, config, &event, None).await?;
            events += 1;
        }
        let before = r.before.as_ref().map(|b| &b.access);
        let after = r.outcome.effective();
        events += match (before, after) {
            (None, Some(access)) => {
                let inviter = r.user.connection.to_string();
                grant(tx, config, &r.user, access, &inviter, cause, now).await?
            }
            (Some(previous), Some(access)) if previous != access => {
                let event = outbox::build_event(&EventInput {
                    event_type: EventType::UserAccessChanged,
                    occurred_at: now,
                    user: &r.user,
                    access: Some(access),
                    previous: Some(previous),
                    cause,
                    conflict: None,
                    invitation: None,
                });
                outbox::enqueue(tx, config, &event, None).await?;
                1
            }
            (Some(previous), None) => revoke(tx, config, &r.user, previous, cause, now).await?,
            _ => 0,
        };
    }
    Ok(events)
}

/// First access (or access again): an invitation, or re-activation of someone who accepted.
/// Invites a user an administrator created (connection `manual`), whose access was set
/// directly: the same invitation, email and `user.invited` as a first access from an IdP.
pub async fn invite_manual(
    tx: &mut dyn StoreTx,
    config: &Config,
    user: &User,
    access: &Access,
    invited_by: &str,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    grant(tx, config, user, access, invited_by, cause, now).await
}

async fn grant(
    tx: &mut dyn StoreTx,
    config: &Config,
    user: &User,
    access: &Access,
    invited_by: &str,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut next = user.clone();
    next.updated_at = now;
    let reactivate = user.accepted_at.is_some() && user.state != UserState::Removed;
    if reactivate {
        next.state = UserState::Active;
        let next = tx.update_user(&next, user.version).await?;
        let event = outbox::build_event(&EventInput {
            event_type: EventType::UserActivated,
            occurred_at: now,
            user: &next,
            access: Some(access),
            previous: None,
            cause,
            conflict: None,
            invitation: None,
        });
        outbox::enqueue(tx, config, &event, None).await?;
        return Ok(1);
    }

    let token = new_token();
    let email = address_of(user);
    let invitation = Invitation {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        token_hash: token_hash(&token),
        email: email.clone().unwrap_or_default(),
        invited_by: invited_by.to_owned(),
        access: access.clone(),
        status: InvitationStatus::Pending,
        created_at: now,
        expires_at: now
            + chrono::Duration::from_std(config.invitation_ttl)
                .unwrap_or(chrono::Duration::days(14)),
        renewed_from: None,
    };
    tx.create_invitation(&invitation).await?;
    next.state = UserState::Invited;
    let next = tx.update_user(&next, user.version).await?;
    let event = outbox::build_event(&EventInput {
        event_type: EventType::UserInvited,
        occurred_at: now,
        user: &next,
        access: Some(access),
        previous: None,
        cause,
        conflict: None,
        invitation: Some(&invitation),
    });
    let secret = email
        .as_deref()
        .map(|to| outbox::invitation_secret(config, &token, to));
    outbox::enqueue(tx, config, &event, secret.as_ref()).await?;
    let mut detail = json!({ "invitation": invitation.id, "expires_at": invitation.expires_at });
    if email.is_none() {
        // No address to send the link to: the invitation exists, the email cannot.
        detail["email"] = json!("none: the user has no email address");
    }
    tx.append_audit(
        &AuditEvent::new("invitation.created", actor(cause), now)
            .about(&next)
            .with_detail(detail),
    )
    .await?;
    Ok(1)
}

/// All access lost: suspended (or removed), with pending invitations and sessions revoked.
async fn revoke(
    tx: &mut dyn StoreTx,
    config: &Config,
    user: &User,
    previous: &Access,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let removed = user.state == UserState::Removed || config.removal.mode == RemovalMode::Delete;
    let revoked_invitations = tx.revoke_pending_invitations(&user.id).await?;
    let revoked_sessions = tx.revoke_sessions_of(&user.id, now).await?;
    let mut next = user.clone();
    next.updated_at = now;
    if removed {
        next.state = UserState::Removed;
        // The application deletes a removed user: access again means a new invitation.
        next.accepted_at = None;
    } else {
        next.state = UserState::Suspended;
    }
    let next = if next.state != user.state || next.accepted_at != user.accepted_at {
        tx.update_user(&next, user.version).await?
    } else {
        next
    };
    let event_type = if removed {
        EventType::UserRemoved
    } else {
        EventType::UserSuspended
    };
    let event = outbox::build_event(&EventInput {
        event_type,
        occurred_at: now,
        user: &next,
        access: None,
        previous: Some(previous),
        cause,
        conflict: None,
        invitation: None,
    });
    outbox::enqueue(tx, config, &event, None).await?;
    if revoked_invitations > 0 || revoked_sessions > 0 {
        let detail = json!({ "invitations": revoked_invitations, "sessions": revoked_sessions });
        tx.append_audit(
            &AuditEvent::new("access.revoked", actor(cause), now)
                .about(&next)
                .with_detail(detail),
        )
        .await?;
    }
    Ok(1)
}

/// The user accepted their invitation — signed in for the first time, or an
/// administrator marked it: invited → active, `accepted_at` set, pending invitations
/// accepted, `user.activated` told. Returns the user as stored and how many outbox events
/// were written (0 when the user was not invited, or had accepted before).
pub async fn accept(
    tx: &mut dyn StoreTx,
    config: &Config,
    user: &User,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<(User, usize)> {
    if user.state != UserState::Invited && user.accepted_at.is_some() {
        return Ok((user.clone(), 0));
    }
    let mut next = user.clone();
    next.accepted_at = Some(user.accepted_at.unwrap_or(now));
    next.updated_at = now;
    let invited = user.state == UserState::Invited;
    if invited {
        next.state = UserState::Active;
    }
    let next = tx.update_user(&next, user.version).await?;
    let mut accepted = Vec::new();
    for invitation in tx.list_invitations(&user.id).await? {
        if invitation.status == InvitationStatus::Pending {
            tx.set_invitation_status(&invitation.id, InvitationStatus::Accepted)
                .await?;
            accepted.push(invitation.id);
        }
    }
    tx.append_audit(
        &AuditEvent::new("invitation.accepted", actor(cause), now)
            .about(&next)
            .with_detail(json!({ "invitations": accepted })),
    )
    .await?;
    if !invited {
        return Ok((next, 0));
    }
    let access = tx.get_access(&user.id).await?.map(|a| a.resolved.access);
    let event = outbox::build_event(&EventInput {
        event_type: EventType::UserActivated,
        occurred_at: now,
        user: &next,
        access: access.as_ref(),
        previous: None,
        cause,
        conflict: None,
        invitation: None,
    });
    outbox::enqueue(tx, config, &event, None).await?;
    Ok((next, 1))
}

/// 256 random bits as 43 characters of base64url (DESIGN §10).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Where an invitation goes: the user's email, else a userName that is an address.
fn address_of(user: &User) -> Option<String> {
    user.email
        .clone()
        .or_else(|| user.user_name.contains('@').then(|| user.user_name.clone()))
        .filter(|e| !e.trim().is_empty())
}

fn actor(cause: &Cause) -> String {
    super::actor(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_hash_to_hex() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert_eq!(h, token_hash(&a));
    }
}

/// Why a renewal was not made.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("only an expired invitation can be renewed")]
    NotExpired,
    #[error("a new invitation was sent less than {0} minutes ago")]
    TooSoon(i64),
    #[error("the user no longer has access")]
    NoAccess,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Renewals of one user's invitations are at most this often (the link is public).
pub const RENEWAL_INTERVAL_MINUTES: i64 = 15;

/// Renews an expired invitation (the public renewal form): at most every
/// [`RENEWAL_INTERVAL_MINUTES`] per user, then [`reissue`].
pub async fn renew_invitation(
    tx: &mut dyn StoreTx,
    config: &Config,
    old: &Invitation,
    now: DateTime<Utc>,
) -> Result<Invitation, RenewError> {
    if old.effective_status(now) != InvitationStatus::Expired {
        return Err(RenewError::NotExpired);
    }
    let recent = tx
        .list_invitations(&old.user_id)
        .await?
        .into_iter()
        .any(|i| {
            i.renewed_from.is_some()
                && now - i.created_at < chrono::Duration::minutes(RENEWAL_INTERVAL_MINUTES)
        });
    if recent {
        return Err(RenewError::TooSoon(RENEWAL_INTERVAL_MINUTES));
    }
    let cause = Cause::Invitation {
        invitation_id: old.id.clone(),
    };
    reissue(tx, config, old, &cause, "invitation", now).await
}

/// Replaces `old` (pending or expired) by a new invitation with a new token for the same
/// address — never another — and delivers it as `invitation.renewed`; the old link stops
/// working. The user must still be invited (have access, not have accepted).
pub async fn reissue(
    tx: &mut dyn StoreTx,
    config: &Config,
    old: &Invitation,
    cause: &Cause,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Invitation, RenewError> {
    let user = tx
        .get_user_for_update(&old.user_id)
        .await?
        .ok_or(RenewError::NoAccess)?;
    let access = tx.get_access(&user.id).await?.ok_or(RenewError::NoAccess)?;
    if user.state != UserState::Invited {
        return Err(RenewError::NoAccess);
    }
    tx.set_invitation_status(&old.id, InvitationStatus::Revoked)
        .await?;
    let token = new_token();
    let invitation = Invitation {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        token_hash: token_hash(&token),
        email: old.email.clone(),
        invited_by: old.invited_by.clone(),
        access: access.access().clone(),
        status: InvitationStatus::Pending,
        created_at: now,
        expires_at: now
            + chrono::Duration::from_std(config.invitation_ttl)
                .unwrap_or(chrono::Duration::days(14)),
        renewed_from: Some(old.id.clone()),
    };
    tx.create_invitation(&invitation).await?;
    let event = outbox::build_event(&EventInput {
        event_type: EventType::InvitationRenewed,
        occurred_at: now,
        user: &user,
        access: Some(access.access()),
        previous: None,
        cause,
        conflict: None,
        invitation: Some(&invitation),
    });
    let secret =
        (!old.email.is_empty()).then(|| outbox::invitation_secret(config, &token, &old.email));
    outbox::enqueue(tx, config, &event, secret.as_ref()).await?;
    let detail = json!({ "invitation": invitation.id, "renewed_from": old.id, "expires_at": invitation.expires_at });
    tx.append_audit(
        &AuditEvent::new("invitation.renewed", actor, now)
            .about(&user)
            .with_detail(detail),
    )
    .await?;
    Ok(invitation)
}
