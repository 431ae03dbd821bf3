//! What a successful SSO answer does (DESIGN §10 "SSO groups", issue "Sessions and what a
//! sign-in does"), in one transaction:
//!
//! 1. **Find the person**, within the connection the answer came through — never by email
//!    alone, never across connections: the user linked to this subject before
//!    (`sso_subject`); else the SCIM user whose `externalId` is the subject; else the SCIM
//!    user whose `userName` is the IdP's user name or email for this person. The first
//!    sign-in links the subject; a user already linked to another subject is refused
//!    (`SSO-SUBJECT-MISMATCH`), so a recycled user name cannot take over an account.
//!    Someone an administrator invited (connection `manual`) is found through the
//!    invitation their sign-in started from, when the email the IdP asserts is the
//!    invited address; their link is stored as `{connection}|{subject}`.
//! 2. **Nobody found**: with `jit = true` and no SCIM on the connection, the user is
//!    created; otherwise `USER-UNKNOWN`.
//! 3. **Groups**: on a connection without SCIM, the groups of the answer are the user's
//!    groups (kept as IdP groups of the connection, so mappings match them by
//!    `idp_group`, case-insensitively, or by `idp_group_id`, exactly), and access is
//!    recomputed through the engine. With SCIM on, SCIM is the source of truth and the
//!    sign-in only authenticates. Entra's groups-overage claim is audited and changes
//!    nothing.
//! 4. **Access**: without access, no session (`ACCESS-NONE`, 403). A new JIT user without
//!    access is not kept.
//! 5. **Invitation**: an invited user becomes active (`user.activated`).
//! 6. **Session**: a new one (the old cookie's session is revoked: rotation), and 303 to
//!    where the login wanted to go.

use super::{SESSION_COOKIE, cookie, refuse};
use crate::config::{Config, Connection};
use crate::domain::{
    AuditEvent, Cause, ConnectionId, GroupId, IdpGroup, InvitationStatus, Session, SsoLogin, User,
    UserState,
};
use crate::http::AppState;
use crate::http::pages;
use crate::reconcile;
use crate::reconcile::lifecycle::{new_token, token_hash};
use crate::sso::{Identity, Refusal};
use crate::store::{StoreError, StoreTx};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

/// Completes a sign-in; see the module documentation.
pub async fn finish(
    state: &AppState,
    connection: &ConnectionId,
    identity: Identity,
    login: Option<SsoLogin>,
    relay_return_to: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let config = state.config.current();
    let now = Utc::now();
    let Some(conn) = config.connection(connection) else {
        let refusal = Refusal::new(
            "SSO-CONNECTION",
            StatusCode::NOT_FOUND,
            "This sign-in is not configured.",
        );
        return refuse(state, Some(connection), refusal, headers).await;
    };
    if let Some(login) = &login
        && &login.connection != connection
    {
        // A login started for one connection cannot be finished by another's answer.
        let refusal = Refusal::new(
            "SSO-LOGIN-MISMATCH",
            StatusCode::BAD_REQUEST,
            "This sign-in was started for another identity provider. Start again.",
        )
        .detail(format!(
            "login {} was started for {}",
            login.key, login.connection
        ));
        return refuse(state, Some(connection), refusal, headers).await;
    }
    let return_to = login
        .as_ref()
        .map(|l| l.return_to.clone())
        .or(relay_return_to)
        .unwrap_or_else(|| "/".to_owned());
    let old_session = cookie(headers, SESSION_COOKIE).map(|v| token_hash(&v));
    match sign_in(
        state,
        &config,
        conn,
        &identity,
        login.as_ref(),
        old_session,
        now,
    )
    .await
    {
        Ok(Outcome::SignedIn { token, events }) => {
            if events > 0 {
                state.outbox.wake();
            }
            metrics::counter!(
                "idp_sync_sso_signins_total",
                "connection" => connection.to_string(),
                "result" => "signed_in",
            )
            .increment(1);
            signed_in_response(&config, &return_to, &token)
        }
        Ok(Outcome::Refused { refusal, events }) => {
            if events > 0 {
                state.outbox.wake();
            }
            refuse(state, Some(connection), refusal, headers).await
        }
        Err(e) => {
            tracing::warn!(error = %e, connection = %connection, "sign-in failed on the database");
            pages::unavailable(&config, "SSO-UNAVAILABLE")
        }
    }
}

enum Outcome {
    SignedIn {
        token: String,
        events: usize,
    },
    /// Refused after committing what the answer legitimately changed (an existing user's
    /// groups on a connection without SCIM).
    Refused {
        refusal: Refusal,
        events: usize,
    },
}

async fn sign_in(
    state: &AppState,
    config: &Config,
    conn: &Connection,
    identity: &Identity,
    login: Option<&SsoLogin>,
    old_session: Option<String>,
    now: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let cause = Cause::Sso {
        connection: conn.id.to_string(),
    };
    let actor = format!("sso:{}", conn.id);
    let mut tx = state.store.begin().await?;
    let mut events = 0;

    let found = match find_user(tx.as_mut(), conn, identity, login).await? {
        Found::User(user) => Some(user),
        Found::Nobody => None,
        Found::Mismatch(user) => {
            tx.rollback().await?;
            let refusal = Refusal::new(
                "SSO-SUBJECT-MISMATCH",
                StatusCode::FORBIDDEN,
                "Your account here belongs to another identity at your identity provider. Ask your administrator.",
            )
            .detail(format!(
                "user {} is linked to another subject than {:?}",
                user.id, identity.subject
            ));
            return Ok(Outcome::Refused { refusal, events });
        }
    };
    let scim_on = conn.scim.is_some();
    let (user, created) = match found {
        Some(user) => (user, false),
        None if conn.jit && !scim_on => (
            create_jit_user(tx.as_mut(), conn, identity, now, &actor).await?,
            true,
        ),
        None => {
            tx.rollback().await?;
            let refusal = Refusal::new(
                "USER-UNKNOWN",
                StatusCode::FORBIDDEN,
                "You have no account here through this identity provider. Ask your administrator for access.",
            )
            .detail(format!("no user of {} matches subject {:?}", conn.id, identity.subject));
            return Ok(Outcome::Refused { refusal, events });
        }
    };
    let user = link_subject(tx.as_mut(), conn, identity, user, now).await?;

    // The answer's groups are the truth only where SCIM is not.
    let mut recompute = created;
    if identity.groups_overage {
        tx.append_audit(
            &AuditEvent::new("sso.groups_overage", actor.as_str(), now)
                .about(&user)
                .with_detail(json!({
                    "message": "the IdP sent a groups-overage claim: groups come from SCIM, not from the sign-in",
                    "scim": scim_on,
                })),
        )
        .await?;
    } else if !scim_on && let Some(groups) = &identity.groups {
        recompute |= set_groups(tx.as_mut(), &conn.id, &user, groups, now).await?;
    }
    if recompute {
        let users = std::slice::from_ref(&user.id);
        // Losses follow the same rules as a SCIM write's (mass removal, grace).
        let rule = reconcile::RemovalRule::for_change(config);
        let results =
            reconcile::directory_changed(tx.as_mut(), &config.policy, &rule, users, &cause, now)
                .await?;
        events += reconcile::lifecycle::apply_lifecycle(tx.as_mut(), config, &results, &cause, now)
            .await?;
    }

    // Access decides; the user as it is now (the lifecycle may have changed it).
    let Some(user) = tx.get_user(&user.id).await? else {
        tx.rollback().await?;
        return Ok(Outcome::Refused {
            refusal: no_access("the user disappeared during sign-in"),
            events: 0,
        });
    };
    let access = tx.get_access(&user.id).await?;
    let has_access = access.is_some()
        && user.active
        && matches!(user.state, UserState::Invited | UserState::Active);
    if !has_access {
        let detail = format!(
            "user {} ({}) has no access; state {}",
            user.id,
            user.user_name,
            user.state.as_str()
        );
        if created {
            // Nobody to keep: a JIT user without access is not created at all.
            tx.rollback().await?;
            return Ok(Outcome::Refused {
                refusal: no_access(detail),
                events: 0,
            });
        }
        tx.commit().await?;
        return Ok(Outcome::Refused {
            refusal: no_access(detail),
            events,
        });
    }

    let (user, accepted) =
        reconcile::lifecycle::accept(tx.as_mut(), config, &user, &cause, now).await?;
    events += accepted;

    if let Some(old) = old_session {
        tx.revoke_session(&old, now).await?;
    }
    let token = new_token();
    let session = Session {
        id_hash: token_hash(&token),
        user_id: user.id.clone(),
        connection: conn.id.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now
            + chrono::Duration::from_std(config.sessions.absolute)
                .unwrap_or(chrono::Duration::hours(24)),
        revoked_at: None,
    };
    tx.create_session(&session).await?;
    let mut event = AuditEvent::new("sso.signed_in", actor, now)
        .about(&user)
        .with_detail(json!({
            "protocol": identity.protocol.as_str(),
            "reference": identity.reference,
            "session_expires_at": session.expires_at,
            "invitation": login.and_then(|l| l.invitation_id.clone()),
        }));
    event.connection = Some(conn.id.clone());
    tx.append_audit(&event).await?;
    tx.commit().await?;
    Ok(Outcome::SignedIn { token, events })
}

fn no_access(detail: impl Into<String>) -> Refusal {
    Refusal::new(
        "ACCESS-NONE",
        StatusCode::FORBIDDEN,
        "You signed in, but you have no access here. Ask your administrator to add you to a group that grants access.",
    )
    .detail(detail)
}

enum Found {
    User(User),
    Nobody,
    /// The user the answer points at is linked to another subject.
    Mismatch(User),
}

/// Step 1 of the module documentation.
async fn find_user(
    tx: &mut dyn StoreTx,
    conn: &Connection,
    identity: &Identity,
    login: Option<&SsoLogin>,
) -> Result<Found, StoreError> {
    let subject = identity.subject.as_str();
    if let Some(user) = tx.find_user_by_sso_subject(&conn.id, subject).await? {
        return Ok(Found::User(user));
    }
    let manual = ConnectionId::manual();
    let manual_subject = manual_subject(&conn.id, subject);
    if let Some(user) = tx
        .find_user_by_sso_subject(&manual, &manual_subject)
        .await?
    {
        return Ok(Found::User(user));
    }
    let mut candidate = tx.find_user_by_external_id(&conn.id, subject).await?;
    for name in [identity.user_name.as_deref(), identity.email.as_deref()]
        .into_iter()
        .flatten()
    {
        if candidate.is_some() {
            break;
        }
        candidate = tx.find_user_by_user_name(&conn.id, name).await?;
    }
    if candidate.is_none()
        && let (Some(login), Some(email)) = (login, identity.email.as_deref())
        && let Some(invitation_id) = &login.invitation_id
        && let Some(invitation) = tx.get_invitation(invitation_id).await?
        && invitation.status == InvitationStatus::Pending
        && invitation.email.eq_ignore_ascii_case(email)
        && let Some(user) = tx.get_user(&invitation.user_id).await?
        && user.connection == manual
    {
        candidate = Some(user);
    }
    Ok(match candidate {
        None => Found::Nobody,
        Some(user) => {
            let expected = if user.connection == manual {
                manual_subject
            } else {
                subject.to_owned()
            };
            match &user.sso_subject {
                Some(linked) if *linked != expected => Found::Mismatch(user),
                _ => Found::User(user),
            }
        }
    })
}

fn manual_subject(connection: &ConnectionId, subject: &str) -> String {
    format!("{connection}|{subject}")
}

/// Links the subject on the first sign-in and keeps the name and email the IdP asserts
/// on users that SCIM does not manage.
async fn link_subject(
    tx: &mut dyn StoreTx,
    conn: &Connection,
    identity: &Identity,
    user: User,
    now: DateTime<Utc>,
) -> Result<User, StoreError> {
    let subject = if user.connection == ConnectionId::manual() {
        manual_subject(&conn.id, &identity.subject)
    } else {
        identity.subject.clone()
    };
    let mut next = user.clone();
    next.sso_subject = Some(subject);
    if conn.scim.is_none() && user.connection == conn.id {
        if identity.email.is_some() {
            next.email.clone_from(&identity.email);
        }
        if identity.given_name.is_some() {
            next.given_name.clone_from(&identity.given_name);
        }
        if identity.family_name.is_some() {
            next.family_name.clone_from(&identity.family_name);
        }
        if identity.display_name.is_some() {
            next.display_name.clone_from(&identity.display_name);
        }
    }
    if next.sso_subject == user.sso_subject
        && next.email == user.email
        && next.given_name == user.given_name
        && next.family_name == user.family_name
        && next.display_name == user.display_name
    {
        return Ok(user);
    }
    next.updated_at = now;
    tx.update_user(&next, user.version).await
}

async fn create_jit_user(
    tx: &mut dyn StoreTx,
    conn: &Connection,
    identity: &Identity,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<User, StoreError> {
    let user_name = identity
        .user_name
        .clone()
        .or_else(|| identity.email.clone())
        .unwrap_or_else(|| identity.subject.clone());
    let mut user = User::new(conn.id.clone(), user_name, now);
    user.sso_subject = Some(identity.subject.clone());
    user.email.clone_from(&identity.email);
    user.given_name.clone_from(&identity.given_name);
    user.family_name.clone_from(&identity.family_name);
    user.display_name.clone_from(&identity.display_name);
    tx.create_user(&user).await?;
    let mut event = AuditEvent::new("sso.user_created", actor, now)
        .about(&user)
        .with_detail(json!({ "protocol": identity.protocol.as_str(), "jit": true }));
    event.connection = Some(conn.id.clone());
    tx.append_audit(&event).await?;
    Ok(user)
}

/// Makes the user's groups in the connection exactly `values` (each found by externalId,
/// else by displayName, else created with both set to the value). Returns whether the
/// membership changed.
async fn set_groups(
    tx: &mut dyn StoreTx,
    connection: &ConnectionId,
    user: &User,
    values: &[String],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut wanted: BTreeSet<GroupId> = BTreeSet::new();
    let distinct: BTreeSet<&str> = values
        .iter()
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .collect();
    for value in distinct {
        let group = match tx.find_group_by_external_id(connection, value).await? {
            Some(g) => g,
            None => match tx
                .find_groups_by_display_name(connection, value)
                .await?
                .into_iter()
                .next()
            {
                Some(g) => g,
                None => {
                    let mut g = IdpGroup::new(connection.clone(), value, now);
                    g.external_id = Some(value.to_owned());
                    tx.create_group(&g).await?;
                    g
                }
            },
        };
        wanted.insert(group.id);
    }
    let current: BTreeSet<GroupId> = tx.group_ids_of_user(&user.id).await?.into_iter().collect();
    let mut changed = false;
    for group in wanted.difference(&current) {
        changed |= tx
            .add_group_members(group, std::slice::from_ref(&user.id))
            .await?
            > 0;
    }
    for group in current.difference(&wanted) {
        changed |= tx
            .remove_group_members(group, std::slice::from_ref(&user.id))
            .await?
            > 0;
    }
    Ok(changed)
}

/// 303 to `return_to` with the new session cookie.
fn signed_in_response(config: &Config, return_to: &str, token: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(return_to) {
        headers.insert(header::LOCATION, location);
    } else {
        headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(cookie) = HeaderValue::from_str(&session_cookie(config, token, false)) {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// The `Set-Cookie` value of the session cookie (or of its removal).
pub(crate) fn session_cookie(config: &Config, token: &str, clear: bool) -> String {
    let mut c = cookie::Cookie::build((SESSION_COOKIE, token.to_owned()))
        .http_only(true)
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .secure(config.server.public_url.is_https());
    if clear {
        c = c.max_age(cookie::time::Duration::ZERO);
    } else if let Ok(seconds) = i64::try_from(config.sessions.absolute.as_secs()) {
        c = c.max_age(cookie::time::Duration::seconds(seconds));
    }
    c.build().to_string()
}
