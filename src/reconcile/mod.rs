//! Reconciliation: turns directory changes into access changes. After any write that can
//! change who has access (a SCIM user or membership write, an SSO login with groups, a
//! config reload), the caller names the users it touched and [`directory_changed`]
//! recomputes their access with [`crate::domain::resolve_directory`] inside the caller's
//! transaction, writing only the difference together with its audit events.
//!
//! This is the single hook every input goes through. The lifecycle that follows from an
//! access change — invitations, state transitions, outbox events — is built on top of the
//! [`Recomputed`] results it returns (issue: access engine).

pub mod held_reload;
pub mod invitations;
pub mod lifecycle;
pub mod plan;
pub mod removals;

pub use removals::RemovalRule;

use crate::domain::{
    AuditEvent, Cause, ConnectionId, Outcome, Policy, ResolvedAccess, User, UserFacts, UserId,
    resolve_directory,
};
use crate::store::{StoreResult, StoreTx};
use chrono::{DateTime, Utc};
use serde_json::json;

/// What recomputation decided for one user.
#[derive(Debug)]
pub struct Recomputed {
    pub user: User,
    pub outcome: Outcome,
    /// The stored access before, if any.
    pub before: Option<ResolvedAccess>,
    /// Whether the stored access was written.
    pub changed: bool,
    /// Whether `outcome` is a conflict the user did not have before (told once).
    pub new_conflict: bool,
}

/// Recomputes the access of `users` (ids that no longer exist are skipped) and writes the
/// difference in `tx`. Users of the `manual` connection are not resolved from mappings:
/// their access was given by an administrator. Losses of access follow `rule`: applied,
/// or held as pending removals (a mass removal, `removal.grace`) — a held user is left
/// out of the results, so the lifecycle does nothing for them yet.
pub async fn directory_changed(
    tx: &mut dyn StoreTx,
    policy: &Policy,
    rule: &RemovalRule,
    users: &[UserId],
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Recomputed>> {
    let manual = ConnectionId::manual();
    // Concurrent writers (PostgreSQL) recompute one user at a time, each from the
    // memberships the other committed: no access computed from a stale view survives.
    tx.lock_users(users).await?;
    let mut loaded = Vec::with_capacity(users.len());
    for id in users {
        let Some(user) = tx.get_user(id).await? else {
            continue;
        };
        if user.connection == manual {
            continue;
        }
        let groups = tx.groups_of_user(id).await?;
        let before = tx.get_access(id).await?.map(|a| a.resolved);
        loaded.push((user, groups, before));
    }
    resolve_and_write(tx, policy, rule, loaded, cause, now).await
}

/// Recomputes the access of a user created in `tx` just now, from what the caller holds:
/// a brand-new user (a fresh id) is in no group and has no stored access yet, so the
/// outcome is [`directory_changed`]'s without reading the user, its groups or its access
/// back (three statements per SCIM create). The row was inserted in `tx`, so no other
/// writer can hold or change it: there is nothing to lock.
pub async fn user_created(
    tx: &mut dyn StoreTx,
    policy: &Policy,
    user: &User,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Recomputed>> {
    if user.connection == ConnectionId::manual() {
        return Ok(Vec::new());
    }
    // Nothing to remove from a user who had nothing.
    resolve_and_write(
        tx,
        policy,
        &RemovalRule::apply(),
        vec![(user.clone(), Vec::new(), None)],
        cause,
        now,
    )
    .await
}

/// The users to recompute, each with its direct IdP groups and its stored access.
type Loaded = Vec<(
    User,
    Vec<crate::domain::IdpGroupRef>,
    Option<ResolvedAccess>,
)>;

async fn resolve_and_write(
    tx: &mut dyn StoreTx,
    policy: &Policy,
    rule: &RemovalRule,
    loaded: Loaded,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Recomputed>> {
    if loaded.is_empty() {
        return Ok(Vec::new());
    }

    // The last-Administrator rule only protects users who hold the top role now: when
    // none of `users` does, the count cannot change any outcome, so it is not read (a
    // count over `user_access` per SCIM write).
    let administrators_elsewhere = match policy.roles.top() {
        Some(top) => {
            let here = loaded
                .iter()
                .filter(|(_, _, b)| b.as_ref().is_some_and(|b| b.access.role == top.name))
                .count();
            if here == 0 {
                0
            } else {
                // Two requests each demoting one of the last two Administrators must not
                // both see "one more elsewhere".
                tx.lock_role_changes().await?;
                let all = tx.count_users_with_role(&top.name).await?;
                usize::try_from(all).unwrap_or(0).saturating_sub(here)
            }
        }
        None => 0,
    };
    let facts: Vec<UserFacts<'_>> = loaded
        .iter()
        .map(|(user, groups, before)| UserFacts {
            connection: &user.connection,
            user_name: &user.user_name,
            active: user.active && user.state != crate::domain::UserState::Removed,
            groups,
            current: before.as_ref().map(|b| &b.access),
        })
        .collect();
    let outcomes = resolve_directory(policy, &facts, administrators_elsewhere);
    drop(facts);
    let held = removals::decide_holds(tx, rule, &loaded, &outcomes, cause, now).await?;

    let mut results = Vec::with_capacity(loaded.len());
    for (i, ((mut user, _, before), outcome)) in loaded.into_iter().zip(outcomes).enumerate() {
        if let Some(kind) = held.get(&i) {
            removals::hold(
                tx,
                *kind,
                &user,
                before.as_ref(),
                &outcome,
                rule,
                cause,
                now,
            )
            .await?;
            continue;
        }
        let new_conflict = track_conflict(tx, &mut user, &outcome, cause, now).await?;
        let changed = write_outcome(tx, &user, before.as_ref(), &outcome, cause, now).await?;
        if changed && rule.supersedes() && before.is_some() && outcome.effective().is_none() {
            // Removed directly: a removal of this user that was waiting is moot now.
            tx.supersede_removals_of(&user.id, now).await?;
        }
        results.push(Recomputed {
            user,
            outcome,
            before,
            changed,
            new_conflict,
        });
    }
    Ok(results)
}

/// Keeps `user.conflict` equal to the conflict of `outcome` (recorded on the user, so it is
/// told once — audit, metric, `access.conflict` — not on every recompute, and cleared
/// when resolved). Returns whether it is a new conflict.
async fn track_conflict(
    tx: &mut dyn StoreTx,
    user: &mut User,
    outcome: &Outcome,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let current = match outcome {
        Outcome::Conflict { conflict, .. } => Some(conflict),
        _ => None,
    };
    if user.conflict.as_ref() == current {
        return Ok(false);
    }
    let previous = user.conflict.take();
    user.conflict = current.cloned();
    user.updated_at = now;
    *user = tx.update_user(user, user.version).await?;
    let (kind, detail) = match outcome {
        Outcome::Conflict {
            refused,
            conflict,
            kept,
        } => {
            metrics::counter!("idp_sync_access_conflicts_total").increment(1);
            (
                "access.conflict",
                json!({ "refused": &refused.access, "conflict": conflict, "kept": kept, "cause": cause }),
            )
        }
        _ => (
            "access.conflict_resolved",
            json!({ "conflict": previous, "cause": cause }),
        ),
    };
    let event = AuditEvent::new(kind, actor(cause), now)
        .about(user)
        .with_detail(detail);
    tx.append_audit(&event).await?;
    Ok(current.is_some())
}

async fn write_outcome(
    tx: &mut dyn StoreTx,
    user: &User,
    before: Option<&ResolvedAccess>,
    outcome: &Outcome,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let audit = |kind: &str, detail: serde_json::Value| {
        AuditEvent::new(kind, actor(cause), now)
            .about(user)
            .with_detail(detail)
    };
    match outcome {
        Outcome::Granted(resolved) => {
            if before == Some(resolved) {
                return Ok(false);
            }
            tx.set_access(&user.id, resolved, now).await?;
            let event = audit(
                "access.changed",
                json!({
                    "before": before.map(|b| &b.access),
                    "after": &resolved.access,
                    "sources": &resolved.organization_sources,
                    "capped_from": &resolved.capped_from,
                    "cause": cause,
                }),
            );
            tx.append_audit(&event).await?;
            Ok(true)
        }
        Outcome::NoAccess(reason) => {
            if before.is_none() {
                return Ok(false);
            }
            tx.clear_access(&user.id).await?;
            let event = audit(
                "access.removed",
                json!({ "before": before.map(|b| &b.access), "reason": reason, "cause": cause }),
            );
            tx.append_audit(&event).await?;
            Ok(true)
        }
        // Recorded (once) by `track_conflict`; the user keeps what they had.
        Outcome::Conflict { .. } => Ok(false),
        Outcome::Protected {
            kept,
            protection,
            instead,
        } => {
            let event = audit(
                "access.protected",
                json!({
                    "kept": kept,
                    "protection": protection,
                    "instead": instead.effective(),
                    "cause": cause,
                }),
            );
            tx.append_audit(&event).await?;
            Ok(false)
        }
    }
}

pub(crate) fn actor(cause: &Cause) -> String {
    match cause {
        Cause::Scim { .. } => "scim".to_owned(),
        Cause::Sso { connection } => format!("sso:{connection}"),
        Cause::ConfigReload { .. } => "system".to_owned(),
        Cause::Admin { token } => format!("admin:{token}"),
        Cause::Invitation { .. } => "invitation".to_owned(),
    }
}

/// How many users [`reconcile_all`] recomputed and changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileSummary {
    pub users: usize,
    pub changed: usize,
}

/// Users recomputed per transaction by [`reconcile_all`]: large enough to be quick, small
/// enough not to hold the writer for long.
const RECONCILE_CHUNK: u32 = 500;

/// Recomputes every user (after a config reload, or when an organization appears that a
/// `*` mapping includes), a chunk of users per transaction, writing only the differences.
pub async fn reconcile_all(
    store: &dyn crate::store::Store,
    config: &crate::config::Config,
    rule: &RemovalRule,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<ReconcileSummary> {
    let mut summary = ReconcileSummary::default();
    let mut after: Option<UserId> = None;
    loop {
        let ids: Vec<UserId> = store
            .list_users(&crate::store::UserQuery {
                after: after.clone(),
                limit: RECONCILE_CHUNK,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let full = ids.len() == RECONCILE_CHUNK as usize;
        after = ids.last().cloned();
        if !ids.is_empty() {
            let mut tx = store.begin().await?;
            let results =
                directory_changed(tx.as_mut(), &config.policy, rule, &ids, cause, now).await?;
            lifecycle::apply_lifecycle(tx.as_mut(), config, &results, cause, now).await?;
            tx.commit().await?;
            summary.users += results.len();
            summary.changed += results.iter().filter(|r| r.changed).count();
        }
        if !full {
            return Ok(summary);
        }
    }
}
