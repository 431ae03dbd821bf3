//! Access resolution (DESIGN §2): a pure function from the policy and what the directory
//! knows of a user (active flag, IdP groups, current access) to the access the user
//! should have now — or the reason they have none, the conflict that stops a change, or
//! the protection that keeps their access.
//!
//! Callers diff the outcome against the stored state and write only the difference. The
//! function never truncates silently: when a role's `max_organizations` is exceeded the
//! user keeps what they had and a [`Conflict`] says why.

use super::entities::IdpGroupRef;
use super::ids::{ConnectionId, OrgSlug, RoleName};
use super::pattern::OrgPattern;
use super::policy::{Mapping, Policy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What a user may do in the application. Sets keep every list sorted and unique, which
/// the events contract requires (`organizations` lists are sorted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub role: RoleName,
    pub organizations: BTreeSet<OrgSlug>,
    pub groups: BTreeSet<String>,
    pub permissions: BTreeSet<String>,
    pub allow_asset_types: BTreeSet<String>,
}

impl Access {
    pub fn new(role: RoleName) -> Self {
        Self {
            role,
            organizations: BTreeSet::new(),
            groups: BTreeSet::new(),
            permissions: BTreeSet::new(),
            allow_asset_types: BTreeSet::new(),
        }
    }
}

/// Which mapping, through which IdP group, produced part of a user's access
/// ("Editor on acme — from mapping 3 via IdP group Engineering").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantSource {
    /// Index in `[[mappings]]`, 0-based.
    pub mapping: usize,
    /// The display name of the IdP group that matched.
    pub idp_group: String,
}

/// Resolved access together with where each part came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedAccess {
    pub access: Access,
    pub organization_sources: BTreeMap<OrgSlug, BTreeSet<GrantSource>>,
    /// The mappings that named the winning role.
    pub role_sources: BTreeSet<GrantSource>,
    /// The role the mappings asked for, when the connection's `max_role` lowered it.
    pub capped_from: Option<RoleName>,
}

/// The facts about one user that resolution reads.
#[derive(Clone, Copy, Debug)]
pub struct UserFacts<'a> {
    pub connection: &'a ConnectionId,
    pub user_name: &'a str,
    /// SCIM `active`; false also for a deleted user.
    pub active: bool,
    pub groups: &'a [IdpGroupRef],
    /// The access stored for the user now, if any.
    pub current: Option<&'a Access>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoAccessReason {
    /// SCIM `active = false`, or the user was deleted.
    Inactive,
    /// The user's connection is not in the config (removed, or a typo).
    UnknownConnection,
    /// None of the user's IdP groups is mapped.
    NoMatchingMapping,
    /// Mappings matched, but none of them names a role.
    NoRole,
    /// A role, but zero organizations: nobody is invited without one (DESIGN §2.6).
    NoOrganizations,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// The role allows at most `limit` organizations and the mappings grant `count`.
    MaxOrganizations {
        role: RoleName,
        limit: u32,
        count: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Listed in `removal.break_glass`: never suspended or removed by IdP input.
    BreakGlass,
    /// The change would leave the application without an Administrator.
    LastAdministrator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Granted(ResolvedAccess),
    NoAccess(NoAccessReason),
    /// The resolved access breaks a rule. The user keeps `kept` (their current access;
    /// `None` for someone who never had access, who is therefore not invited).
    Conflict {
        refused: ResolvedAccess,
        conflict: Conflict,
        kept: Option<Access>,
    },
    /// Resolution would take access away from a protected user, who keeps `kept`.
    Protected {
        kept: Access,
        protection: Protection,
        /// What resolution alone would have done.
        instead: Box<Outcome>,
    },
}

impl Outcome {
    /// The access the user ends up with: what should be stored after this resolution.
    pub fn effective(&self) -> Option<&Access> {
        match self {
            Self::Granted(r) => Some(&r.access),
            Self::NoAccess(_) => None,
            Self::Conflict { kept, .. } => kept.as_ref(),
            Self::Protected { kept, .. } => Some(kept),
        }
    }
}

/// Resolves one user's access. The last-Administrator rule needs the whole directory:
/// use [`resolve_directory`] for anything that may change roles.
pub fn resolve_user(policy: &Policy, user: &UserFacts<'_>) -> Outcome {
    let outcome = resolve_unprotected(policy, user);
    match (&outcome, user.current) {
        (Outcome::NoAccess(_), Some(current)) if policy.is_break_glass(user.user_name) => {
            Outcome::Protected {
                kept: current.clone(),
                protection: Protection::BreakGlass,
                instead: Box::new(outcome),
            }
        }
        _ => outcome,
    }
}

/// Resolves a set of users and keeps the application from losing its last Administrator:
/// when users held the top role before and none would after (counting
/// `administrators_elsewhere`, the holders of the top role outside `users`), every user
/// who would lose it keeps their current access instead.
pub fn resolve_directory(
    policy: &Policy,
    users: &[UserFacts<'_>],
    administrators_elsewhere: usize,
) -> Vec<Outcome> {
    let mut outcomes: Vec<Outcome> = users.iter().map(|u| resolve_user(policy, u)).collect();
    let Some(top) = policy.roles.top().map(|r| r.name.clone()) else {
        return outcomes;
    };
    let is_top = |a: Option<&Access>| a.is_some_and(|a| a.role == top);
    let before = users.iter().filter(|u| is_top(u.current)).count();
    let after = outcomes.iter().filter(|o| is_top(o.effective())).count();
    if before > 0 && after == 0 && administrators_elsewhere == 0 {
        for (user, outcome) in users.iter().zip(outcomes.iter_mut()) {
            if let Some(current) = user.current.filter(|c| c.role == top) {
                let instead =
                    std::mem::replace(outcome, Outcome::NoAccess(NoAccessReason::Inactive));
                *outcome = Outcome::Protected {
                    kept: current.clone(),
                    protection: Protection::LastAdministrator,
                    instead: Box::new(instead),
                };
            }
        }
    }
    outcomes
}

fn resolve_unprotected(policy: &Policy, user: &UserFacts<'_>) -> Outcome {
    if !user.active {
        return Outcome::NoAccess(NoAccessReason::Inactive);
    }
    let Some(connection) = policy.connection(user.connection) else {
        return Outcome::NoAccess(NoAccessReason::UnknownConnection);
    };

    // Each matched mapping with the IdP group that matched it (first match by name order,
    // so the source shown is stable).
    let mut sorted_groups: Vec<&IdpGroupRef> = user.groups.iter().collect();
    sorted_groups.sort();
    let matched: Vec<(&Mapping, &IdpGroupRef)> = policy
        .mappings_of(user.connection)
        .filter_map(|m| {
            sorted_groups
                .iter()
                .find(|g| {
                    m.idp_group
                        .matches(&g.display_name, g.external_id.as_deref())
                })
                .map(|g| (m, *g))
        })
        .collect();
    if matched.is_empty() {
        return Outcome::NoAccess(NoAccessReason::NoMatchingMapping);
    }

    // 3. The highest role named by any matched mapping, then the connection's cap.
    let best_rank = matched
        .iter()
        .filter_map(|(m, _)| m.role.as_ref().and_then(|r| policy.roles.rank(r)))
        .min();
    let Some(best_rank) = best_rank else {
        return Outcome::NoAccess(NoAccessReason::NoRole);
    };
    let wanted = policy
        .roles
        .iter()
        .nth(best_rank)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| connection.max_role.clone());
    let (role, capped) = policy.roles.cap(&wanted, &connection.max_role);
    let role = role.clone();
    let role_sources: BTreeSet<GrantSource> = matched
        .iter()
        .filter(|(m, _)| m.role.as_ref() == Some(&wanted))
        .map(|(m, g)| source(m, g))
        .collect();

    // 4, 7. Unions, organizations restricted to the connection's scope.
    let mut access = Access::new(role.clone());
    let mut organization_sources: BTreeMap<OrgSlug, BTreeSet<GrantSource>> = BTreeMap::new();
    for (mapping, group) in &matched {
        for slug in mapping_organizations(policy, mapping) {
            if connection.in_scope(&slug) {
                organization_sources
                    .entry(slug)
                    .or_default()
                    .insert(source(mapping, group));
            }
        }
        access.groups.extend(mapping.groups.iter().cloned());
        access
            .permissions
            .extend(mapping.permissions.iter().cloned());
        access
            .allow_asset_types
            .extend(mapping.allow_asset_types.iter().cloned());
    }
    access.organizations = organization_sources.keys().cloned().collect();

    let resolved = ResolvedAccess {
        access,
        organization_sources,
        role_sources,
        capped_from: capped.then_some(wanted),
    };

    // 6. A role but no organization: not invited, no access.
    if resolved.access.organizations.is_empty() {
        return Outcome::NoAccess(NoAccessReason::NoOrganizations);
    }

    // 5. Over the role's organization limit: keep what they had, record the conflict.
    if let Some(limit) = policy.roles.get(&role).and_then(|r| r.max_organizations) {
        let count = u32::try_from(resolved.access.organizations.len()).unwrap_or(u32::MAX);
        if count > limit {
            return Outcome::Conflict {
                refused: resolved,
                conflict: Conflict::MaxOrganizations { role, limit, count },
                kept: user.current.cloned(),
            };
        }
    }
    Outcome::Granted(resolved)
}

/// The organizations a mapping names now, with sub-organizations when it asks for them.
/// `*` is evaluated against the current organization list, so it includes organizations
/// added after the mapping was written.
fn mapping_organizations(policy: &Policy, mapping: &Mapping) -> BTreeSet<OrgSlug> {
    let mut out = BTreeSet::new();
    for pattern in &mapping.organizations {
        let named = pattern.expand(&policy.organizations);
        for slug in named {
            if mapping.include_suborganizations && !matches!(pattern, OrgPattern::All) {
                out.extend(policy.organizations.descendants(&slug));
            }
            out.insert(slug);
        }
    }
    out
}

fn source(mapping: &Mapping, group: &IdpGroupRef) -> GrantSource {
    GrantSource {
        mapping: mapping.index,
        idp_group: group.display_name.to_string(),
    }
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
