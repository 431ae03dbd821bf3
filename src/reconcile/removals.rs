//! Removals that wait (DESIGN §3, §10 "Mass removal"; `[removal] grace`).
//!
//! **Mass removal.** One change — a SCIM request, a reconcile — that would take access
//! from more than `removal.mass_threshold` of the users who have it (invited or active),
//! and from at least `removal.mass_minimum` of them, stores the IdP's data and everything
//! else it changes, but each of its removals becomes a row of `pending_removals` (kind
//! `mass`) instead: the user keeps their access, nothing is delivered, and the hold is
//! audited (`removal.held` per user, `removals.held` for the change). A SCIM request is
//! judged by its own removals ([`RemovalRule::for_change`]); a reconcile of everyone is
//! judged once over the whole directory with the planner, then run with
//! [`RemovalRule::after_plan`].
//! While a user's removal waits, a later change that removes them again (an IdP's routine
//! PUT of the profile) leaves it waiting; deactivation or deletion in the IdP is applied
//! at once and marks the waiting row `superseded`.
//!
//! **Grace.** With `removal.grace` set, a user who loses access while still active in
//! the IdP (left every mapped group, a mapping removed…) waits `grace` as a pending
//! removal of kind `grace` with a `due_at`; [`apply_due`] (run by `serve` every few
//! seconds) applies those that are due. A user who comes back before is no longer a
//! removal when it is due: the row ends `obsolete` and no event is sent. Deactivation
//! (`active = false`) and SCIM DELETE are offboarding decisions and take effect at once.
//!
//! **Decisions.** [`approve`] re-checks each removal under the config and data of now,
//! through the same recompute and lifecycle as any change (a user who is no longer a
//! removal ends `obsolete`); [`reject`] keeps the access and records it. Rejecting does not
//! pin the access: the next change the IdP sends about that user is applied as usual.
//!
//! **Held reloads**: a config reload that would be a mass removal is refused and waits
//! for approval in `held_configs`; see [`super::held_reload`].

pub use super::held_reload::{ReloadDecisionError, decide_reload, hold_reload};
use super::{Recomputed, actor};
use crate::config::Config;
use crate::domain::{
    AuditEvent, Cause, NoAccessReason, Outcome, ResolvedAccess, User, UserId, UserState,
};
use crate::store::{
    PendingRemoval, PendingRemovalKind, PendingRemovalQuery, PendingRemovalStatus, Store,
    StoreResult, StoreTx, StoredPendingRemoval,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// What happens to the losses of access of one change.
#[derive(Clone, Debug)]
pub struct RemovalRule {
    mass: Mass,
    grace: Option<Duration>,
    /// Whether a removal applied directly ends a pending removal of the same user.
    supersede: bool,
}

#[derive(Clone, Copy, Debug)]
enum Mass {
    /// Held when this change's own removals are a mass removal.
    Check { threshold: f64, minimum: u32 },
    /// The change as a whole was judged a mass removal: hold every removal.
    HoldAll,
    /// Not a mass removal (or approved): apply.
    Apply,
}

impl RemovalRule {
    /// One change judged by its own removals (a SCIM request), with grace.
    pub fn for_change(config: &Config) -> Self {
        Self {
            mass: Mass::Check {
                threshold: config.removal.mass_threshold,
                minimum: config.removal.mass_minimum,
            },
            grace: config.removal.grace,
            supersede: true,
        }
    }

    /// A part of a change the planner judged over the whole directory: every removal is
    /// held when `mass_removal`, else removals are applied (after grace, if set).
    pub fn after_plan(config: &Config, mass_removal: bool) -> Self {
        Self {
            mass: if mass_removal {
                Mass::HoldAll
            } else {
                Mass::Apply
            },
            grace: config.removal.grace,
            supersede: true,
        }
    }

    /// Apply every removal at once (an approved reload; tests).
    pub fn apply() -> Self {
        Self {
            mass: Mass::Apply,
            grace: None,
            supersede: true,
        }
    }

    /// Deciding pending removals: apply, and leave their rows to the decision.
    fn deciding() -> Self {
        Self {
            supersede: false,
            ..Self::apply()
        }
    }

    pub(super) fn supersedes(&self) -> bool {
        self.supersede
    }
}

/// Which of `outcomes` are removals to hold, by index, and why.
pub(super) async fn decide_holds(
    tx: &mut dyn StoreTx,
    rule: &RemovalRule,
    loaded: &super::Loaded,
    outcomes: &[Outcome],
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<BTreeMap<usize, PendingRemovalKind>> {
    let removals: Vec<usize> = loaded
        .iter()
        .zip(outcomes)
        .enumerate()
        .filter(|(_, ((user, _, before), outcome))| {
            // A user being deleted is gone whatever is decided: nothing to hold.
            before.is_some()
                && user.state != UserState::Removed
                && matches!(outcome, Outcome::NoAccess(_))
        })
        .map(|(i, _)| i)
        .collect();
    let mut held = BTreeMap::new();
    if removals.is_empty() {
        return Ok(held);
    }
    let mass = match rule.mass {
        Mass::Apply => false,
        Mass::HoldAll => true,
        Mass::Check { threshold, minimum } => {
            // Counted only when the minimum is reached: a SCIM write removing one user
            // (the common case) reads nothing more.
            removals.len() >= minimum as usize
                && {
                    let with_access = tx.count_users_with_access().await?;
                    let is_mass = removals.len() as f64 > threshold * with_access as f64;
                    if is_mass {
                        let detail = json!({
                            "removals": removals.len(),
                            "with_access": with_access,
                            "mass_threshold": threshold,
                            "change": change_id(cause),
                            "cause": cause,
                            "approve": "idp-sync removals approve --all (or POST /admin/v1/removals/approve)",
                        });
                        tx.append_audit(
                            &AuditEvent::new("removals.held", actor(cause), now)
                                .with_detail(detail),
                        )
                        .await?;
                        tracing::warn!(
                            event = "removals.held",
                            removals = removals.len(),
                            with_access,
                            "mass removal held for approval"
                        );
                    }
                    is_mass
                }
        }
    };
    for i in removals {
        let offboarded = matches!(outcomes[i], Outcome::NoAccess(NoAccessReason::Inactive));
        if mass {
            held.insert(i, PendingRemovalKind::Mass);
        } else if offboarded {
            // Deactivated in the IdP: at once, whatever waits.
        } else if rule.grace.is_some() {
            held.insert(i, PendingRemovalKind::Grace);
        } else if rule.supersede && waits(tx, &loaded[i].0.id).await? {
            // A removal already waits for an administrator (e.g. part of a held mass
            // removal): a later change that removes the user again (Okta's routine PUT of
            // the profile) does not get around the hold. The row stays as it is.
            held.insert(i, PendingRemovalKind::Mass);
        }
    }
    Ok(held)
}

/// Whether a removal of `user` is pending.
async fn waits(tx: &mut dyn StoreTx, user: &UserId) -> StoreResult<bool> {
    let query = PendingRemovalQuery {
        status: Some(PendingRemovalStatus::Pending),
        user: Some(user.clone()),
        limit: 1,
        ..PendingRemovalQuery::default()
    };
    Ok(!tx.list_pending_removals(&query).await?.is_empty())
}

/// Stores one held removal (unless the user already has one waiting) and audits it.
#[allow(clippy::too_many_arguments)]
pub(super) async fn hold(
    tx: &mut dyn StoreTx,
    kind: PendingRemovalKind,
    user: &User,
    before: Option<&ResolvedAccess>,
    outcome: &Outcome,
    rule: &RemovalRule,
    cause: &Cause,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(before) = before else {
        return Ok(());
    };
    let reason = match outcome {
        Outcome::NoAccess(reason) => json!(reason),
        _ => serde_json::Value::Null,
    };
    let due_at = match kind {
        PendingRemovalKind::Grace => rule
            .grace
            .and_then(|g| chrono::Duration::from_std(g).ok())
            .map(|g| now + g),
        PendingRemovalKind::Mass => None,
    };
    let removal = PendingRemoval {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        connection: user.connection.clone(),
        user_name: user.user_name.clone(),
        kind,
        change_id: change_id(cause),
        previous: before.access.clone(),
        reason: reason.clone(),
        cause: json!(cause),
        status: PendingRemovalStatus::Pending,
        created_at: now,
        due_at,
        decided_at: None,
        decided_by: None,
    };
    if tx.hold_removal(&removal).await? {
        metrics::counter!("idp_sync_removals_held_total", "kind" => kind.as_str()).increment(1);
        let detail = json!({
            "pending_removal": removal.id,
            "kind": kind,
            "reason": reason,
            "due_at": due_at,
            "kept": &before.access,
            "cause": cause,
        });
        tx.append_audit(
            &AuditEvent::new("removal.held", actor(cause), now)
                .about(user)
                .with_detail(detail),
        )
        .await?;
    }
    Ok(())
}

/// Groups the removals of one change: the SCIM request id, or the config revision.
fn change_id(cause: &Cause) -> String {
    match cause {
        Cause::Scim { request_id } => format!("scim:{request_id}"),
        Cause::Sso { connection } => format!("sso:{connection}"),
        Cause::ConfigReload { revision } => format!("config:{revision}"),
        Cause::Admin { token } => format!("admin:{token}"),
        Cause::Invitation { invitation_id } => format!("invitation:{invitation_id}"),
    }
}

/// Which pending removals a decision is about.
#[derive(Clone, Debug)]
pub enum Selection {
    All,
    Ids(Vec<String>),
}

/// What a decision did, per removal.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Decided {
    /// Applied: the user lost their access (events sent).
    pub applied: Vec<String>,
    /// Rejected: the user keeps their access.
    pub rejected: Vec<String>,
    /// No longer a removal under today's config and data: nothing applied.
    pub obsolete: Vec<String>,
    /// Unknown ids, or removals already decided.
    pub not_pending: Vec<String>,
}

/// The actor of removals whose grace ran out.
const GRACE_ACTOR: &str = "grace";

/// Removals decided per transaction.
const DECISION_CHUNK: u32 = 200;

/// Approves pending removals: each is re-checked under `config` and today's data and, if
/// the user still loses access, applied through the lifecycle (suspension or removal,
/// revoked invitations and sessions, `user.suspended` / `user.removed`). Returns what
/// happened and how many outbox events were written (wake the worker when not zero).
pub async fn approve(
    store: &dyn Store,
    config: &Config,
    selection: &Selection,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<(Decided, usize)> {
    decide(store, Some(config), selection, by, now).await
}

/// Rejects pending removals: the users keep their access; the decision is audited.
pub async fn reject(
    store: &dyn Store,
    selection: &Selection,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<Decided> {
    Ok(decide(store, None, selection, by, now).await?.0)
}

/// Applies the grace removals that are due (same path as an approval, actor `grace`).
pub async fn apply_due(
    store: &dyn Store,
    config: &Config,
    now: DateTime<Utc>,
) -> StoreResult<(Decided, usize)> {
    let mut decided = Decided::default();
    let mut events = 0;
    loop {
        let due = store
            .read()
            .await?
            .list_pending_removals(&PendingRemovalQuery {
                status: Some(PendingRemovalStatus::Pending),
                user: None,
                due_by: Some(now),
                after_seq: None,
                limit: DECISION_CHUNK,
            })
            .await?;
        if due.is_empty() {
            return Ok((decided, events));
        }
        let ids = due.into_iter().map(|r| r.removal.id).collect();
        let (d, e) = decide(store, Some(config), &Selection::Ids(ids), GRACE_ACTOR, now).await?;
        events += e;
        let progressed = !d.applied.is_empty() || !d.obsolete.is_empty();
        decided.applied.extend(d.applied);
        decided.obsolete.extend(d.obsolete);
        if !progressed {
            return Ok((decided, events));
        }
    }
}

/// Approves (`config` given) or rejects the selected pending removals, a chunk per
/// transaction.
async fn decide(
    store: &dyn Store,
    config: Option<&Config>,
    selection: &Selection,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<(Decided, usize)> {
    let mut decided = Decided::default();
    let mut events = 0;
    match selection {
        Selection::Ids(ids) => {
            for part in ids.chunks(DECISION_CHUNK as usize) {
                let mut chunk = Vec::with_capacity(part.len());
                {
                    let mut read = store.read().await?;
                    for id in part {
                        match read.get_pending_removal(id).await? {
                            Some(r) if r.removal.status == PendingRemovalStatus::Pending => {
                                chunk.push(r);
                            }
                            _ => decided.not_pending.push(id.clone()),
                        }
                    }
                }
                events += decide_chunk(store, config, &chunk, by, now, &mut decided).await?;
            }
        }
        Selection::All => {
            let mut after_seq = None;
            loop {
                let page = store
                    .read()
                    .await?
                    .list_pending_removals(&PendingRemovalQuery {
                        status: Some(PendingRemovalStatus::Pending),
                        user: None,
                        due_by: None,
                        after_seq,
                        limit: DECISION_CHUNK,
                    })
                    .await?;
                let Some(last) = page.last() else { break };
                after_seq = Some(last.seq);
                events += decide_chunk(store, config, &page, by, now, &mut decided).await?;
            }
        }
    }
    Ok((decided, events))
}

async fn decide_chunk(
    store: &dyn Store,
    config: Option<&Config>,
    chunk: &[StoredPendingRemoval],
    by: &str,
    now: DateTime<Utc>,
    decided: &mut Decided,
) -> StoreResult<usize> {
    if chunk.is_empty() {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    let events = match config {
        Some(config) => approve_chunk(tx.as_mut(), config, chunk, by, now, decided).await?,
        None => {
            reject_chunk(tx.as_mut(), chunk, by, now, decided).await?;
            0
        }
    };
    tx.commit().await?;
    Ok(events)
}

async fn approve_chunk(
    tx: &mut dyn StoreTx,
    config: &Config,
    chunk: &[StoredPendingRemoval],
    by: &str,
    now: DateTime<Utc>,
    decided: &mut Decided,
) -> StoreResult<usize> {
    // An administrator's decision is the cause of what follows; a grace period that ran
    // out carries on the change that started it (the SCIM request, the reload).
    let mut batches: Vec<(Cause, Vec<UserId>)> = Vec::new();
    for r in chunk {
        let cause = if by == GRACE_ACTOR {
            serde_json::from_value(r.removal.cause.clone()).unwrap_or_else(|_| Cause::Admin {
                token: GRACE_ACTOR.to_owned(),
            })
        } else {
            Cause::Admin {
                token: by.strip_prefix("admin:").unwrap_or(by).to_owned(),
            }
        };
        match batches.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, users)) => users.push(r.removal.user_id.clone()),
            None => batches.push((cause, vec![r.removal.user_id.clone()])),
        }
    }
    let mut results: Vec<Recomputed> = Vec::with_capacity(chunk.len());
    let mut events = 0;
    for (cause, users) in &batches {
        let batch = super::directory_changed(
            tx,
            &config.policy,
            &RemovalRule::deciding(),
            users,
            cause,
            now,
        )
        .await?;
        events += super::lifecycle::apply_lifecycle(tx, config, &batch, cause, now).await?;
        results.extend(batch);
    }
    for r in chunk {
        let removal = &r.removal;
        let removed = results.iter().any(|res| {
            res.user.id == removal.user_id
                && res.before.is_some()
                && res.outcome.effective().is_none()
        });
        let status = if removed {
            PendingRemovalStatus::Approved
        } else {
            PendingRemovalStatus::Obsolete
        };
        if !tx.decide_removal(&removal.id, status, by, now).await? {
            decided.not_pending.push(removal.id.clone());
            continue;
        }
        let kind = if removed {
            decided.applied.push(removal.id.clone());
            "removal.approved"
        } else {
            decided.obsolete.push(removal.id.clone());
            "removal.obsolete"
        };
        let event = removal_audit(kind, by, removal, now);
        tx.append_audit(&event).await?;
    }
    Ok(events)
}

async fn reject_chunk(
    tx: &mut dyn StoreTx,
    chunk: &[StoredPendingRemoval],
    by: &str,
    now: DateTime<Utc>,
    decided: &mut Decided,
) -> StoreResult<()> {
    for r in chunk {
        let removal = &r.removal;
        if tx
            .decide_removal(&removal.id, PendingRemovalStatus::Rejected, by, now)
            .await?
        {
            decided.rejected.push(removal.id.clone());
            tx.append_audit(&removal_audit("removal.rejected", by, removal, now))
                .await?;
        } else {
            decided.not_pending.push(removal.id.clone());
        }
    }
    Ok(())
}

fn removal_audit(kind: &str, by: &str, removal: &PendingRemoval, now: DateTime<Utc>) -> AuditEvent {
    let mut event = AuditEvent::new(kind, by, now).with_detail(json!({
        "pending_removal": removal.id,
        "kind": removal.kind,
        "change": removal.change_id,
        "previous": removal.previous,
    }));
    event.connection = Some(removal.connection.clone());
    event.user_id = Some(removal.user_id.clone());
    event.user_name = Some(removal.user_name.clone());
    event
}
