//! Planning: what a policy would do to the whole directory, computed without writing
//! anything. `idp-sync plan --config NEW.toml` prints it before a config is deployed; a
//! config reload and the admin API use the same function to decide whether a change is a
//! mass removal that must wait for approval (DESIGN §3, §10).
//!
//! [`plan`] is pure: it takes a snapshot of the directory ([`load_directory`]) and the
//! policy, and classifies every user whose access would change.

use crate::domain::{
    Access, Conflict, ConnectionId, Outcome, Policy, Protection, ResolvedAccess, User, UserFacts,
    UserState, resolve_directory,
};
use crate::domain::{IdpGroupRef, OrgSlug, RoleName};
use crate::store::{StoreRead, StoreResult, UserQuery};
use serde::Serialize;
use std::collections::BTreeSet;

/// One user as the planner sees them.
#[derive(Clone, Debug)]
pub struct DirectoryUser {
    pub user: User,
    pub groups: Vec<IdpGroupRef>,
    pub access: Option<ResolvedAccess>,
}

/// Reads every user (the `manual` connection excluded: mappings do not govern them), with
/// their IdP groups and stored access — without their stored SCIM resource (`scim` is
/// null), which planning does not need.
pub async fn load_directory(read: &mut dyn StoreRead) -> StoreResult<Vec<DirectoryUser>> {
    let manual = ConnectionId::manual();
    let mut out = Vec::new();
    let mut after = None;
    // One copy of each group's text for the whole snapshot, shared by its memberships.
    let mut interned: std::collections::BTreeSet<IdpGroupRef> = std::collections::BTreeSet::new();
    loop {
        let page = read
            .list_users(&UserQuery {
                after: after.clone(),
                limit: 1_000,
                ..UserQuery::default()
            })
            .await?;
        let full = page.len() == 1_000;
        after = page.last().map(|u| u.id.clone());
        for mut user in page {
            if user.connection == manual {
                continue;
            }
            // The stored SCIM resource is most of a user's memory and the planner never
            // reads it: a snapshot of 100,000 users would otherwise hold them all.
            user.scim = serde_json::Value::Null;
            let groups = read
                .groups_of_user(&user.id)
                .await?
                .into_iter()
                .map(|group| match interned.get(&group) {
                    Some(shared) => shared.clone(),
                    None => {
                        interned.insert(group.clone());
                        group
                    }
                })
                .collect();
            let access = read.get_access(&user.id).await?.map(|a| a.resolved);
            out.push(DirectoryUser {
                user,
                groups,
                access,
            });
        }
        if !full {
            return Ok(out);
        }
    }
}

/// What would happen to one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// First access: an invitation would be sent.
    Invite,
    /// Access again after having accepted before: re-activated without a new invitation.
    Reactivate,
    /// Role, organizations, groups or permissions change.
    Update,
    /// All access lost.
    Suspend,
    /// The new access breaks a rule; the user would keep what they have.
    Conflict,
    /// Resolution would take access away from a protected user, who keeps it.
    Protected,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanEntry {
    pub user_id: String,
    pub user_name: String,
    pub connection: String,
    pub state: UserState,
    pub change: Change,
    pub before: Option<Access>,
    pub after: Option<Access>,
    pub role_from: Option<RoleName>,
    pub role_to: Option<RoleName>,
    pub organizations_added: Vec<OrgSlug>,
    pub organizations_removed: Vec<OrgSlug>,
    pub conflict: Option<Conflict>,
    pub protection: Option<Protection>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PlanSummary {
    pub users: usize,
    /// Users with access now (invited or active): the base of the mass-removal share.
    pub with_access: usize,
    pub invite: usize,
    pub reactivate: usize,
    pub update: usize,
    pub suspend: usize,
    pub conflict: usize,
    pub protected: usize,
    pub unchanged: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub summary: PlanSummary,
    /// Whether the removals exceed `removal.mass_threshold` of the users with access and
    /// reach `removal.mass_minimum`: such a change waits for an administrator's approval.
    pub mass_removal: bool,
    /// Users whose access would change, ordered by connection and userName.
    pub entries: Vec<PlanEntry>,
}

/// Plans `policy` over `directory`. `mass_threshold` and `mass_minimum` are the
/// `[removal]` settings the mass-removal rule uses.
pub fn plan(
    policy: &Policy,
    directory: &[DirectoryUser],
    mass_threshold: f64,
    mass_minimum: u32,
) -> Plan {
    let facts: Vec<UserFacts<'_>> = directory
        .iter()
        .map(|d| UserFacts {
            connection: &d.user.connection,
            user_name: &d.user.user_name,
            active: d.user.active && d.user.state != UserState::Removed,
            groups: &d.groups,
            current: d.access.as_ref().map(|a| &a.access),
        })
        .collect();
    let outcomes = resolve_directory(policy, &facts, 0);
    let mut summary = PlanSummary {
        users: directory.len(),
        ..PlanSummary::default()
    };
    let mut entries = Vec::new();
    for (d, outcome) in directory.iter().zip(&outcomes) {
        let before = d.access.as_ref().map(|a| &a.access);
        if before.is_some() {
            summary.with_access += 1;
        }
        let Some(entry) = classify(d, before, outcome) else {
            summary.unchanged += 1;
            continue;
        };
        match entry.change {
            Change::Invite => summary.invite += 1,
            Change::Reactivate => summary.reactivate += 1,
            Change::Update => summary.update += 1,
            Change::Suspend => summary.suspend += 1,
            Change::Conflict => summary.conflict += 1,
            Change::Protected => summary.protected += 1,
        }
        entries.push(entry);
    }
    entries.sort_by(|a, b| (&a.connection, &a.user_name).cmp(&(&b.connection, &b.user_name)));
    let removals = summary.suspend;
    let mass_removal = removals > 0
        && removals as f64 > mass_threshold * summary.with_access as f64
        && removals >= mass_minimum as usize;
    Plan {
        summary,
        mass_removal,
        entries,
    }
}

fn classify(d: &DirectoryUser, before: Option<&Access>, outcome: &Outcome) -> Option<PlanEntry> {
    let after = outcome.effective();
    let (change, conflict, protection) = match outcome {
        Outcome::Conflict { conflict, .. } => (Change::Conflict, Some(conflict.clone()), None),
        Outcome::Protected { protection, .. } => {
            // Only worth a line when resolution alone would have changed something.
            if outcome_changes(before, &outcome_instead(outcome)) {
                (Change::Protected, None, Some(*protection))
            } else {
                return None;
            }
        }
        _ => match (before, after) {
            (None, None) => return None,
            (Some(b), Some(a)) if b == a => return None,
            (None, Some(_)) if d.user.accepted_at.is_some() => (Change::Reactivate, None, None),
            (None, Some(_)) => (Change::Invite, None, None),
            (Some(_), None) => (Change::Suspend, None, None),
            (Some(_), Some(_)) => (Change::Update, None, None),
        },
    };
    let orgs = |a: Option<&Access>| a.map(|a| a.organizations.clone()).unwrap_or_default();
    let (old, new): (BTreeSet<OrgSlug>, BTreeSet<OrgSlug>) = match outcome {
        Outcome::Conflict { refused, .. } => (orgs(before), refused.access.organizations.clone()),
        _ => (orgs(before), orgs(after)),
    };
    let role_to = match outcome {
        Outcome::Conflict { refused, .. } => Some(refused.access.role.clone()),
        _ => after.map(|a| a.role.clone()),
    };
    Some(PlanEntry {
        user_id: d.user.id.to_string(),
        user_name: d.user.user_name.clone(),
        connection: d.user.connection.to_string(),
        state: d.user.state,
        change,
        before: before.cloned(),
        after: after.cloned(),
        role_from: before.map(|b| b.role.clone()),
        role_to,
        organizations_added: new.difference(&old).cloned().collect(),
        organizations_removed: old.difference(&new).cloned().collect(),
        conflict,
        protection,
    })
}

fn outcome_instead(outcome: &Outcome) -> Option<Access> {
    match outcome {
        Outcome::Protected { instead, .. } => instead.effective().cloned(),
        other => other.effective().cloned(),
    }
}

fn outcome_changes(before: Option<&Access>, after: &Option<Access>) -> bool {
    before != after.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        ConnectionPolicy, IdpGroupMatcher, Mapping, OrgPattern, Organization, Organizations, Roles,
    };

    fn policy(role: &str, orgs: &[&str]) -> Policy {
        Policy {
            roles: Roles::application_default(),
            organizations: Organizations::new(
                ["acme", "globex"]
                    .iter()
                    .map(|s| Organization {
                        slug: (*s).into(),
                        name: (*s).into(),
                        parent: None,
                    })
                    .collect(),
            ),
            connections: vec![ConnectionPolicy {
                id: "okta".into(),
                scope: vec![OrgPattern::All],
                max_role: "Administrator".into(),
            }],
            mappings: vec![Mapping {
                index: 0,
                connection: "okta".into(),
                idp_group: IdpGroupMatcher::name("Eng").expect("glob"),
                groups: vec![],
                role: Some(role.into()),
                organizations: orgs
                    .iter()
                    .map(|o| OrgPattern::parse(o).expect("p"))
                    .collect(),
                include_suborganizations: false,
                permissions: vec![],
                allow_asset_types: vec![],
            }],
            break_glass: BTreeSet::new(),
        }
    }

    fn user(
        name: &str,
        in_group: bool,
        access: Option<(&str, &[&str])>,
        accepted: bool,
    ) -> DirectoryUser {
        let mut u = User::new("okta".into(), name, chrono::Utc::now());
        if accepted {
            u.accepted_at = Some(chrono::Utc::now());
        }
        let groups = if in_group {
            vec![IdpGroupRef {
                display_name: "Eng".into(),
                external_id: None,
            }]
        } else {
            vec![]
        };
        let access = access.map(|(role, orgs)| ResolvedAccess {
            access: Access {
                organizations: orgs.iter().map(|o| OrgSlug::from(*o)).collect(),
                ..Access::new(role.into())
            },
            organization_sources: Default::default(),
            role_sources: Default::default(),
            capped_from: None,
        });
        DirectoryUser {
            user: u,
            groups,
            access,
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let dir = vec![
            user("new@x", true, None, false),
            user("back@x", true, None, true),
            user("same@x", true, Some(("Editor", &["acme"])), true),
            user("moved@x", true, Some(("Creator", &["globex"])), true),
            user("gone@x", false, Some(("Editor", &["acme"])), true),
            user("never@x", false, None, false),
        ];
        let p = plan(&policy("Editor", &["acme"]), &dir, 0.2, 10);
        let kinds: Vec<(&str, &Change)> = p
            .entries
            .iter()
            .map(|e| (e.user_name.as_str(), &e.change))
            .collect();
        assert_eq!(
            kinds,
            [
                ("back@x", &Change::Reactivate),
                ("gone@x", &Change::Suspend),
                ("moved@x", &Change::Update),
                ("new@x", &Change::Invite),
            ]
        );
        let moved = p
            .entries
            .iter()
            .find(|e| e.user_name == "moved@x")
            .expect("moved");
        assert_eq!(
            moved.role_from.as_ref().map(RoleName::as_str),
            Some("Creator")
        );
        assert_eq!(moved.role_to.as_ref().map(RoleName::as_str), Some("Editor"));
        assert_eq!(moved.organizations_added, [OrgSlug::from("acme")]);
        assert_eq!(moved.organizations_removed, [OrgSlug::from("globex")]);
        assert_eq!(p.summary.unchanged, 2);
        assert_eq!(p.summary.with_access, 3);
        assert!(!p.mass_removal, "one removal is under mass_minimum");
    }

    #[test]
    fn mass_removal_needs_both_the_share_and_the_minimum() {
        let mut dir: Vec<DirectoryUser> = (0..20)
            .map(|i| user(&format!("u{i}@x"), true, Some(("Editor", &["acme"])), true))
            .collect();
        for d in dir.iter_mut().take(10) {
            d.groups.clear();
        }
        let p = plan(&policy("Editor", &["acme"]), &dir, 0.2, 10);
        assert_eq!(p.summary.suspend, 10);
        assert!(p.mass_removal, "50% of 20 users, and 10 ≥ the minimum");
        let p = plan(&policy("Editor", &["acme"]), &dir, 0.6, 10);
        assert!(!p.mass_removal, "50% is under a 60% threshold");
        let p = plan(&policy("Editor", &["acme"]), &dir, 0.2, 11);
        assert!(!p.mass_removal, "10 removals are under a minimum of 11");
    }
}
