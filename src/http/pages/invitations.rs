//! `GET /invitations/{token}` — the invitation landing page (DESIGN §10): 200 with who
//! invited whom to what and "Sign in with <IdP>" for a pending invitation; 410 with the
//! renewal form for an expired one; 404 for an unknown or revoked one. It has no side
//! effects: mail scanners open links before people do.
//!
//! `POST /invitations/{token}/renew` — for an expired invitation, a new link goes to the
//! address the expired one was sent to (never another), at most every
//! [`crate::reconcile::lifecycle::RENEWAL_INTERVAL_MINUTES`] minutes per user; the old link stops working.

use super::{application, kind_label, page};
use crate::config::Config;
use crate::domain::{ConnectionId, Invitation, InvitationStatus, User};
use crate::http::AppState;
use crate::reconcile::lifecycle::{RenewError, renew_invitation, token_hash};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;

pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let config = state.config.current();
    let now = Utc::now();
    let Some(invitation) = find(&state, &token).await else {
        return unknown(&config);
    };
    let user = match state.store.get_user(&invitation.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return unknown(&config),
        Err(e) => return unavailable(&config, &e.to_string()),
    };
    let status = invitation.effective_status(now);
    let (code, state_name, title) = match status {
        InvitationStatus::Pending => (StatusCode::OK, "pending", "You are invited"),
        InvitationStatus::Accepted => (StatusCode::OK, "accepted", "Invitation accepted"),
        InvitationStatus::Expired => (StatusCode::GONE, "expired", "This invitation has expired"),
        InvitationStatus::Revoked => return unknown(&config),
    };
    page(
        code,
        "invitation.html",
        context! {
            title => title,
            state => state_name,
            code => (status == InvitationStatus::Expired).then_some("INVITATION-EXPIRED"),
            application => application(&config),
            inviter => inviter(&config, &invitation),
            invitee => user.event_display_name().or(user.email.clone()).unwrap_or(user.user_name.clone()),
            role => invitation.access.role.to_string(),
            organizations => super::organization_names(&config, &invitation.access.organizations),
            expires_at => human_time(invitation.expires_at),
            sign_in => sign_in_links(&config, &user, &token),
            renew_action => format!("/invitations/{token}/renew"),
        },
    )
}

pub async fn renew(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let config = state.config.current();
    let now = Utc::now();
    let Some(old) = find(&state, &token).await else {
        return unknown(&config);
    };
    if old.status == InvitationStatus::Revoked {
        return unknown(&config);
    }
    let result = async {
        let mut tx = state.store.begin().await?;
        let renewed = renew_invitation(tx.as_mut(), &config, &old, now).await;
        if renewed.is_ok() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        renewed
    }
    .await;
    let (status, code, title, message) = match result {
        Ok(_) => {
            state.outbox.wake();
            (
                StatusCode::OK,
                None,
                "A new invitation is on its way",
                format!(
                    "A new link was sent to {}. This one no longer works.",
                    masked(&old.email)
                ),
            )
        }
        Err(RenewError::NotExpired) => (
            StatusCode::CONFLICT,
            Some("INVITATION-STILL-VALID"),
            "This invitation is still valid",
            "Open the link in your email again to sign in.".to_owned(),
        ),
        Err(RenewError::TooSoon(minutes)) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some("INVITATION-RENEW-TOO-SOON"),
            "A new invitation was sent recently",
            format!("Look for it in your email; another can be requested after {minutes} minutes."),
        ),
        Err(RenewError::NoAccess) => (
            StatusCode::GONE,
            Some("INVITATION-NO-ACCESS"),
            "This invitation cannot be renewed",
            "Your access was withdrawn. Ask your administrator.".to_owned(),
        ),
        Err(RenewError::Store(e)) => return unavailable(&config, &e.to_string()),
    };
    page(
        status,
        "invitation.html",
        context! { title => title, state => "message", message => message, code => code, application => application(&config) },
    )
}

/// The invitation a token names. Anything that is not a 43-character base64url token is
/// unknown without a database lookup.
async fn find(state: &AppState, token: &str) -> Option<Invitation> {
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    state
        .store
        .find_invitation_by_token_hash(&token_hash(token))
        .await
        .ok()
        .flatten()
}

fn unknown(config: &Config) -> Response {
    page(
        StatusCode::NOT_FOUND,
        "invitation.html",
        context! {
            title => "This invitation link is not valid",
            state => "message",
            message => "It may have been replaced by a newer invitation, or your access was withdrawn. Look for the most recent email, or ask your administrator.",
            code => "INVITATION-UNKNOWN",
            application => application(config),
        },
    )
}

fn unavailable(config: &Config, detail: &str) -> Response {
    tracing::error!(error = %detail, "invitation page: database unavailable");
    super::unavailable(config, "UNAVAILABLE")
}

fn inviter(config: &Config, invitation: &Invitation) -> String {
    match config.connection(&invitation.invited_by.as_str().into()) {
        Some(c) => format!("Your organization ({})", kind_label(c.kind)),
        None => invitation
            .invited_by
            .strip_prefix("admin:")
            .map(|name| format!("An administrator ({name})"))
            .unwrap_or_else(|| "An administrator".to_owned()),
    }
}

/// The sign-in of the user's own connection; for someone an administrator invited
/// (connection `manual`), every connection with SSO. The links carry the invitation token,
/// so the first sign-in can be matched with this invitation.
fn sign_in_links(config: &Config, user: &User, token: &str) -> Vec<super::SignIn> {
    let only = (user.connection != ConnectionId::manual()).then_some(&user.connection);
    super::sign_in_links(config, only, Some(token))
}

fn human_time(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y, %H:%M UTC").to_string()
}

/// `ana@acme.com` → `a•••@acme.com`: enough to recognise, not to harvest.
fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "the address it was first sent to".to_owned(),
    }
}
