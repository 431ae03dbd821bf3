//! Unit and property tests of access resolution (DESIGN §2).

use super::*;
use crate::domain::{
    ConnectionPolicy, IdpGroupMatcher, Organization, Organizations, Policy, Roles,
};
use proptest::prelude::*;

fn org(slug: &str, parent: Option<&str>) -> Organization {
    Organization {
        slug: slug.into(),
        name: slug.to_owned(),
        parent: parent.map(OrgSlug::from),
    }
}

fn mapping(index: usize, group: &str, role: Option<&str>, orgs: &[&str]) -> Mapping {
    Mapping {
        index,
        connection: "okta".into(),
        idp_group: IdpGroupMatcher::name(group).expect("glob"),
        groups: vec![format!("local-{group}")],
        role: role.map(RoleName::from),
        organizations: orgs
            .iter()
            .map(|o| OrgPattern::parse(o).expect("pattern"))
            .collect(),
        include_suborganizations: false,
        permissions: vec![format!("perm-{index}")],
        allow_asset_types: vec![],
    }
}

fn policy(orgs: Vec<Organization>, mappings: Vec<Mapping>) -> Policy {
    Policy {
        roles: Roles::application_default(),
        organizations: Organizations::new(orgs),
        connections: vec![ConnectionPolicy {
            id: "okta".into(),
            scope: vec![OrgPattern::All],
            max_role: "Administrator".into(),
        }],
        mappings,
        break_glass: ["root@example.com".to_owned()].into(),
    }
}

fn groups(names: &[&str]) -> Vec<IdpGroupRef> {
    names
        .iter()
        .map(|n| IdpGroupRef {
            display_name: (*n).into(),
            external_id: Some(format!("id-{n}").into()),
        })
        .collect()
}

fn facts<'a>(
    conn: &'a ConnectionId,
    groups: &'a [IdpGroupRef],
    current: Option<&'a Access>,
) -> UserFacts<'a> {
    UserFacts {
        connection: conn,
        user_name: "ana@acme.com",
        active: true,
        groups,
        current,
    }
}

fn slugs(access: &Access) -> Vec<&str> {
    access.organizations.iter().map(OrgSlug::as_str).collect()
}

fn granted(outcome: &Outcome) -> &ResolvedAccess {
    match outcome {
        Outcome::Granted(r) => r,
        other => panic!("expected a grant, got {other:?}"),
    }
}

fn three_orgs() -> Vec<Organization> {
    vec![
        org("acme", None),
        org("acme-east", Some("acme")),
        org("globex", None),
    ]
}

#[test]
fn highest_role_wins_and_organizations_unite() {
    let p = policy(
        three_orgs(),
        vec![
            mapping(0, "Engineering", Some("Editor"), &["acme"]),
            mapping(1, "Support", Some("Creator"), &["globex"]),
        ],
    );
    let conn = "okta".into();
    let g = groups(&["Support", "Engineering"]);
    let outcome = resolve_user(&p, &facts(&conn, &g, None));
    let r = granted(&outcome);
    assert_eq!(r.access.role.as_str(), "Editor");
    assert_eq!(slugs(&r.access), ["acme", "globex"]);
    assert_eq!(r.access.groups.len(), 2);
    assert_eq!(r.access.permissions.len(), 2);
    let src = &r.organization_sources[&OrgSlug::from("acme")];
    assert_eq!(
        src.iter().next(),
        Some(&GrantSource {
            mapping: 0,
            idp_group: "Engineering".into()
        })
    );
    assert_eq!(r.role_sources.len(), 1);
    assert!(r.capped_from.is_none());
}

#[test]
fn role_is_capped_at_connection_max_role() {
    let mut p = policy(
        three_orgs(),
        vec![mapping(0, "Admins", Some("Administrator"), &["acme"])],
    );
    p.connections[0].max_role = "Manager".into();
    let conn = "okta".into();
    let g = groups(&["Admins"]);
    let outcome = resolve_user(&p, &facts(&conn, &g, None));
    let r = granted(&outcome);
    assert_eq!(r.access.role.as_str(), "Manager");
    assert_eq!(
        r.capped_from.as_ref().map(RoleName::as_str),
        Some("Administrator")
    );
}

#[test]
fn scope_restricts_wildcards() {
    let mut p = policy(
        three_orgs(),
        vec![mapping(0, "All", Some("Editor"), &["*"])],
    );
    p.connections[0].scope = vec![OrgPattern::parse("acme*").expect("glob")];
    let conn = "okta".into();
    let g = groups(&["All"]);
    let outcome = resolve_user(&p, &facts(&conn, &g, None));
    assert_eq!(slugs(&granted(&outcome).access), ["acme", "acme-east"]);
}

#[test]
fn star_includes_organizations_added_later() {
    let mut orgs = three_orgs();
    let p = policy(
        orgs.clone(),
        vec![mapping(0, "All", Some("Editor"), &["*"])],
    );
    let conn = "okta".into();
    let g = groups(&["All"]);
    let before = resolve_user(&p, &facts(&conn, &g, None));
    assert_eq!(granted(&before).access.organizations.len(), 3);
    orgs.push(org("initech", None));
    let p2 = Policy {
        organizations: Organizations::new(orgs),
        ..p
    };
    let after = resolve_user(&p2, &facts(&conn, &g, None));
    assert!(
        granted(&after)
            .access
            .organizations
            .contains(&OrgSlug::from("initech"))
    );
}

#[test]
fn suborganizations_only_when_asked_and_they_count_against_the_limit() {
    let orgs = vec![
        org("acme", None),
        org("acme-1", Some("acme")),
        org("acme-2", Some("acme")),
        org("acme-3", Some("acme")),
        org("acme-4", Some("acme")),
        org("acme-5", Some("acme-4")),
    ];
    let mut m = mapping(0, "Clients", Some("Lite"), &["acme"]);
    let p = policy(orgs.clone(), vec![m.clone()]);
    let conn = "okta".into();
    let g = groups(&["Clients"]);
    let plain = resolve_user(&p, &facts(&conn, &g, None));
    assert_eq!(slugs(&granted(&plain).access), ["acme"]);

    m.include_suborganizations = true;
    let p = policy(orgs, vec![m]);
    let current = Access {
        organizations: ["acme".into()].into(),
        ..Access::new("Lite".into())
    };
    let outcome = resolve_user(&p, &facts(&conn, &g, Some(&current)));
    match outcome {
        Outcome::Conflict {
            refused,
            conflict,
            kept,
        } => {
            assert_eq!(refused.access.organizations.len(), 6);
            assert_eq!(
                conflict,
                Conflict::MaxOrganizations {
                    role: "Lite".into(),
                    limit: 5,
                    count: 6
                }
            );
            assert_eq!(
                kept.as_ref(),
                Some(&current),
                "previous access is kept, not truncated"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn new_user_in_conflict_gets_nothing() {
    let orgs: Vec<_> = (0..6).map(|i| org(&format!("o{i}"), None)).collect();
    let names: Vec<String> = (0..6).map(|i| format!("o{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let p = policy(orgs, vec![mapping(0, "Lite", Some("Lite"), &refs)]);
    let conn = "okta".into();
    let g = groups(&["Lite"]);
    let outcome = resolve_user(&p, &facts(&conn, &g, None));
    assert!(matches!(outcome, Outcome::Conflict { kept: None, .. }));
    assert_eq!(outcome.effective(), None);
}

#[test]
fn zero_organizations_means_no_access() {
    let p = policy(three_orgs(), vec![mapping(0, "Empty", Some("Editor"), &[])]);
    let conn = "okta".into();
    let g = groups(&["Empty"]);
    assert_eq!(
        resolve_user(&p, &facts(&conn, &g, None)),
        Outcome::NoAccess(NoAccessReason::NoOrganizations)
    );
}

#[test]
fn inactive_unmapped_roleless_and_unknown_connection() {
    let p = policy(
        three_orgs(),
        vec![
            mapping(0, "Eng", Some("Editor"), &["acme"]),
            mapping(1, "Tag", None, &["acme"]),
        ],
    );
    let conn: ConnectionId = "okta".into();
    let g = groups(&["Eng"]);
    let mut f = facts(&conn, &g, None);
    f.active = false;
    assert_eq!(
        resolve_user(&p, &f),
        Outcome::NoAccess(NoAccessReason::Inactive)
    );
    let other = groups(&["Marketing"]);
    assert_eq!(
        resolve_user(&p, &facts(&conn, &other, None)),
        Outcome::NoAccess(NoAccessReason::NoMatchingMapping)
    );
    let tag = groups(&["Tag"]);
    assert_eq!(
        resolve_user(&p, &facts(&conn, &tag, None)),
        Outcome::NoAccess(NoAccessReason::NoRole)
    );
    let gone: ConnectionId = "entra".into();
    assert_eq!(
        resolve_user(&p, &facts(&gone, &g, None)),
        Outcome::NoAccess(NoAccessReason::UnknownConnection)
    );
}

#[test]
fn mapping_by_id_survives_rename() {
    let mut m = mapping(0, "ignored", Some("Editor"), &["acme"]);
    m.idp_group = IdpGroupMatcher::id("00g1");
    let p = policy(three_orgs(), vec![m]);
    let conn = "okta".into();
    let renamed = vec![IdpGroupRef {
        display_name: "Eng (renamed)".into(),
        external_id: Some("00g1".into()),
    }];
    assert!(matches!(
        resolve_user(&p, &facts(&conn, &renamed, None)),
        Outcome::Granted(_)
    ));
}

#[test]
fn break_glass_is_never_removed() {
    let p = policy(
        three_orgs(),
        vec![mapping(0, "Eng", Some("Editor"), &["acme"])],
    );
    let conn = "okta".into();
    let current = Access {
        organizations: ["acme".into()].into(),
        ..Access::new("Administrator".into())
    };
    let none: Vec<IdpGroupRef> = vec![];
    let mut f = facts(&conn, &none, Some(&current));
    f.user_name = "ROOT@example.com";
    f.active = false;
    let outcome = resolve_user(&p, &f);
    assert!(matches!(
        outcome,
        Outcome::Protected {
            protection: Protection::BreakGlass,
            ..
        }
    ));
    assert_eq!(outcome.effective(), Some(&current));
}

#[test]
fn last_administrator_is_kept() {
    let p = policy(
        three_orgs(),
        vec![mapping(0, "Eng", Some("Editor"), &["acme"])],
    );
    let conn = "okta".into();
    let admin = Access {
        organizations: ["acme".into()].into(),
        ..Access::new("Administrator".into())
    };
    let g = groups(&["Eng"]);
    let users = [facts(&conn, &g, Some(&admin))];
    let outcomes = resolve_directory(&p, &users, 0);
    assert!(matches!(
        outcomes[0],
        Outcome::Protected {
            protection: Protection::LastAdministrator,
            ..
        }
    ));
    // With another Administrator elsewhere, the demotion goes through.
    let outcomes = resolve_directory(&p, &users, 1);
    assert_eq!(
        outcomes[0].effective().map(|a| a.role.as_str()),
        Some("Editor")
    );
}

// ---- properties ----

const ROLES: [&str; 6] = [
    "Administrator",
    "Manager",
    "Editor",
    "Creator",
    "Read-only",
    "Lite",
];

/// (IdP group, role, organizations, uses `*`, include sub-organizations)
type ArbitraryMapping = (usize, Option<usize>, Vec<usize>, bool, bool);

#[derive(Debug, Clone)]
struct World {
    orgs: Vec<(String, Option<usize>)>,
    mappings: Vec<ArbitraryMapping>,
    member_of: Vec<usize>,
    cap: usize,
    scope: Vec<usize>,
    scope_all: bool,
}

fn world() -> impl Strategy<Value = World> {
    (1usize..9).prop_flat_map(|n_orgs| {
        (
            proptest::collection::vec(proptest::option::of(0..n_orgs), n_orgs),
            proptest::collection::vec(
                (
                    0usize..5,
                    proptest::option::of(0usize..6),
                    proptest::collection::vec(0..n_orgs, 0..4),
                    proptest::bool::weighted(0.15),
                    any::<bool>(),
                ),
                0..6,
            ),
            proptest::collection::vec(0usize..5, 0..5),
            0usize..6,
            proptest::collection::vec(0..n_orgs, 0..4),
            any::<bool>(),
        )
            .prop_map(
                move |(parents, mappings, member_of, cap, scope, scope_all)| World {
                    // a parent must come earlier, so there are no cycles
                    orgs: parents
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| (format!("o{i}"), p.filter(|p| *p < i)))
                        .collect(),
                    mappings,
                    member_of,
                    cap,
                    scope,
                    scope_all,
                },
            )
    })
}

fn build(w: &World) -> Policy {
    let orgs = w
        .orgs
        .iter()
        .map(|(s, p)| org(s, p.map(|p| w.orgs[p].0.as_str())))
        .collect();
    let mappings = w
        .mappings
        .iter()
        .enumerate()
        .map(|(i, (g, role, orgs, star, subs))| {
            let mut names: Vec<String> = orgs.iter().map(|o| format!("o{o}")).collect();
            if *star {
                names = vec!["*".into()];
            }
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut m = mapping(i, &format!("g{g}"), role.map(|r| ROLES[r]), &refs);
            m.include_suborganizations = *subs;
            m
        })
        .collect();
    let mut p = policy(orgs, mappings);
    p.connections[0].max_role = ROLES[w.cap].into();
    p.connections[0].scope = if w.scope_all {
        vec![OrgPattern::All]
    } else {
        w.scope
            .iter()
            .map(|o| OrgPattern::Slug(format!("o{o}").into()))
            .collect()
    };
    p
}

proptest! {
    #[test]
    fn resolution_obeys_the_rules(w in world()) {
        let p = build(&w);
        let conn: ConnectionId = "okta".into();
        let g: Vec<IdpGroupRef> = w.member_of.iter().map(|i| IdpGroupRef { display_name: format!("g{i}").into(), external_id: None }).collect();
        let outcome = resolve_user(&p, &facts(&conn, &g, None));

        let matched: Vec<&Mapping> = p.mappings.iter().filter(|m| g.iter().any(|x| m.idp_group.matches(&x.display_name, None))).collect();
        if let Some(resolved) = match &outcome { Outcome::Granted(r) => Some(r), Outcome::Conflict { refused, .. } => Some(refused), _ => None } {
            let a = &resolved.access;
            // highest role among matched mappings, capped at max_role
            let best = matched.iter().filter_map(|m| m.role.as_ref()).filter_map(|r| p.roles.rank(r)).min().expect("a role");
            let expected = best.max(w.cap);
            prop_assert_eq!(a.role.as_str(), ROLES[expected]);
            prop_assert_eq!(resolved.capped_from.is_some(), best < w.cap);
            // organizations: within scope, each granted by a matched mapping
            prop_assert!(!a.organizations.is_empty());
            for slug in &a.organizations {
                prop_assert!(p.connections[0].in_scope(slug));
                prop_assert!(matched.iter().any(|m| mapping_organizations(&p, m).contains(slug)));
                prop_assert!(!resolved.organization_sources[slug].is_empty());
            }
            // every in-scope organization of a matched mapping is granted
            for m in &matched {
                for slug in mapping_organizations(&p, m) {
                    if p.connections[0].in_scope(&slug) {
                        prop_assert!(a.organizations.contains(&slug));
                    }
                }
            }
            let limit = p.roles.get(&a.role).and_then(|r| r.max_organizations);
            let over = limit.is_some_and(|l| a.organizations.len() > l as usize);
            prop_assert_eq!(over, matches!(outcome, Outcome::Conflict { .. }));
            // a new user in conflict is not invited
            if over { prop_assert!(outcome.effective().is_none()); }
        } else {
            prop_assert!(outcome.effective().is_none());
        }
        // group order never changes the outcome
        let mut rev = g.clone();
        rev.reverse();
        prop_assert_eq!(resolve_user(&p, &facts(&conn, &rev, None)), outcome);
    }

    #[test]
    fn conflicts_keep_previous_access_and_protected_users_keep_theirs(w in world(), admin in any::<bool>(), breakglass in any::<bool>(), active in any::<bool>()) {
        let p = build(&w);
        let conn: ConnectionId = "okta".into();
        let g: Vec<IdpGroupRef> = w.member_of.iter().map(|i| IdpGroupRef { display_name: format!("g{i}").into(), external_id: None }).collect();
        let current = Access { organizations: ["o0".into()].into(), ..Access::new(if admin { "Administrator" } else { "Editor" }.into()) };
        let mut f = facts(&conn, &g, Some(&current));
        f.active = active;
        if breakglass { f.user_name = "root@example.com"; }
        let outcomes = resolve_directory(&p, &[f], 0);
        let out = &outcomes[0];
        if let Outcome::Conflict { kept, .. } = out {
            prop_assert_eq!(kept.as_ref(), Some(&current));
        }
        if breakglass {
            prop_assert!(out.effective().is_some(), "break-glass users keep access");
        }
        if admin {
            prop_assert_eq!(out.effective().map(|a| a.role.as_str()), Some("Administrator"), "the last Administrator stays");
        }
    }
}
