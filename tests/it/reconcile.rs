//! The reconcile hook under concurrency, on both engines: two transactions that change one
//! user's memberships at once must leave the access that the final memberships give.

use crate::support::both_engines;
use chrono::Utc;
use idp_sync::domain::{
    Cause, ConnectionPolicy, IdpGroup, IdpGroupMatcher, Mapping, OrgPattern, Organization,
    Organizations, Policy, Roles, User,
};
use idp_sync::reconcile::{RemovalRule, directory_changed};
use idp_sync::store::Store;
use std::sync::Arc;
use std::time::Duration;

fn policy() -> Policy {
    let mapping = |index: usize, group: &str| Mapping {
        index,
        connection: "okta".into(),
        idp_group: IdpGroupMatcher::name(group).expect("glob"),
        groups: vec![],
        role: Some("Editor".into()),
        organizations: vec![OrgPattern::parse("acme").expect("pattern")],
        include_suborganizations: false,
        permissions: vec![],
        allow_asset_types: vec![],
    };
    Policy {
        roles: Roles::application_default(),
        organizations: Organizations::new(vec![Organization {
            slug: "acme".into(),
            name: "Acme".into(),
            parent: None,
        }]),
        connections: vec![ConnectionPolicy {
            id: "okta".into(),
            scope: vec![OrgPattern::All],
            max_role: "Administrator".into(),
        }],
        mappings: vec![mapping(0, "G1"), mapping(1, "G2")],
        break_glass: Default::default(),
    }
}

async fn concurrent_membership_changes_keep_the_right_access(store: Arc<dyn Store>) {
    let now = Utc::now();
    let user = User::new("okta".into(), "u@acme.com", now);
    let g1 = IdpGroup::new("okta".into(), "G1", now);
    let g2 = IdpGroup::new("okta".into(), "G2", now);
    let cause = Cause::Scim {
        request_id: "t".into(),
    };
    let policy = Arc::new(policy());
    {
        let mut tx = store.begin().await.expect("begin");
        tx.create_user(&user).await.expect("user");
        tx.create_group(&g1).await.expect("g1");
        tx.create_group(&g2).await.expect("g2");
        tx.add_group_members(&g2.id, std::slice::from_ref(&user.id))
            .await
            .expect("member");
        directory_changed(
            tx.as_mut(),
            &policy,
            &RemovalRule::apply(),
            std::slice::from_ref(&user.id),
            &cause,
            now,
        )
        .await
        .expect("recompute");
        tx.commit().await.expect("commit");
    }

    // A: joins G1 and recomputes (access stays), but holds its commit for a moment.
    let mut a = store.begin().await.expect("begin a");
    a.add_group_members(&g1.id, std::slice::from_ref(&user.id))
        .await
        .expect("join g1");
    directory_changed(
        a.as_mut(),
        &policy,
        &RemovalRule::apply(),
        std::slice::from_ref(&user.id),
        &cause,
        now,
    )
    .await
    .expect("recompute a");

    // B: leaves G2 and recomputes at the same time.
    let b = {
        let (store, policy, user, g2, cause) = (
            store.clone(),
            policy.clone(),
            user.id.clone(),
            g2.id.clone(),
            cause.clone(),
        );
        tokio::spawn(async move {
            let mut b = store.begin().await.expect("begin b");
            b.remove_group_members(&g2, std::slice::from_ref(&user))
                .await
                .expect("leave g2");
            directory_changed(
                b.as_mut(),
                &policy,
                &RemovalRule::apply(),
                std::slice::from_ref(&user),
                &cause,
                Utc::now(),
            )
            .await
            .expect("recompute b");
            b.commit().await.expect("commit b");
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.commit().await.expect("commit a");
    b.await.expect("b");

    // In G1 only now: still an Editor on acme.
    let access = store.get_access(&user.id).await.expect("access");
    assert!(
        access.is_some(),
        "B recomputed from a stale view and removed the access G1 gives"
    );
}
both_engines!(concurrent_membership_changes_keep_the_right_access);
