//! Stored access with its grant sources.

use super::{now, user};
use crate::support::both_engines;
use idp_sync::domain::{Access, GrantSource, OrgSlug, ResolvedAccess, RoleName};
use idp_sync::store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn source(mapping: usize, group: &str) -> GrantSource {
    GrantSource {
        mapping,
        idp_group: group.into(),
    }
}

fn resolved(role: &str, orgs: &[(&str, &[GrantSource])]) -> ResolvedAccess {
    let mut access = Access::new(RoleName::new(role));
    let mut organization_sources = BTreeMap::new();
    for (slug, sources) in orgs {
        access.organizations.insert(OrgSlug::new(*slug));
        organization_sources.insert(OrgSlug::new(*slug), sources.iter().cloned().collect());
    }
    access.groups.insert("engineers".into());
    access
        .permissions
        .extend(["staff".to_owned(), "integration:payments".to_owned()]);
    ResolvedAccess {
        access,
        organization_sources,
        role_sources: BTreeSet::from([source(0, "Engineering")]),
        capped_from: None,
    }
}

both_engines!(access_with_sources_round_trips);
async fn access_with_sources_round_trips(store: Arc<dyn Store>) {
    let ana = user("ana@acme.com");
    let bob = user("bob@acme.com");
    store.create_user(&ana).await.unwrap();
    store.create_user(&bob).await.unwrap();
    assert!(store.get_access(&ana.id).await.unwrap().is_none());

    let first = resolved(
        "Editor",
        &[
            ("acme", &[source(0, "Engineering"), source(2, "Staff")]),
            ("acme-east", &[source(0, "Engineering")]),
        ],
    );
    let at = now();
    let mut tx = store.begin().await.unwrap();
    tx.set_access(&ana.id, &first, at).await.unwrap();
    tx.set_access(
        &bob.id,
        &resolved("Administrator", &[("acme", &[source(1, "Admins")])]),
        at,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let stored = store.get_access(&ana.id).await.unwrap().unwrap();
    assert_eq!(stored.resolved, first);
    assert_eq!(stored.updated_at, at);
    assert_eq!(
        stored.sources_of(&OrgSlug::new("acme")).map(|s| s.len()),
        Some(2)
    );

    // Changing access rewrites the changed grants and drops the lost ones.
    let mut second = resolved(
        "Creator",
        &[("acme", &[source(3, "Contractors")]), ("globex", &[])],
    );
    second.capped_from = Some(RoleName::new("Manager"));
    let mut tx = store.begin().await.unwrap();
    tx.set_access(&ana.id, &second, now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.get_access(&ana.id).await.unwrap().unwrap().resolved,
        second
    );

    let mut read = store.read().await.unwrap();
    let grants = read
        .grants_of_organization(&OrgSlug::new("acme"))
        .await
        .unwrap();
    let mut users: Vec<_> = vec![ana.id.clone(), bob.id.clone()];
    users.sort();
    assert_eq!(
        grants.iter().map(|g| g.user_id.clone()).collect::<Vec<_>>(),
        users
    );
    assert!(
        read.grants_of_organization(&OrgSlug::new("acme-east"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        read.count_users_with_role(&RoleName::new("Administrator"))
            .await
            .unwrap(),
        1
    );
    drop(read);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.clear_access(&ana.id).await.unwrap());
    assert!(!tx.clear_access(&ana.id).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.get_access(&ana.id).await.unwrap().is_none());

    // Access goes with its user.
    store.delete_user(&bob.id).await.unwrap();
    let mut read = store.read().await.unwrap();
    assert!(
        read.grants_of_organization(&OrgSlug::new("acme"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        read.count_users_with_role(&RoleName::new("Administrator"))
            .await
            .unwrap(),
        0
    );
}
