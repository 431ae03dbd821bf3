//! IdP groups and membership: round trips, uniqueness, idempotent member changes.

use super::{group, now, okta, user};
use crate::support::both_engines;
use idp_sync::domain::{ConnectionId, IdpGroupRef, UserId};
use idp_sync::store::{ConflictKind, ScimListQuery, Store, StoreError};
use std::sync::Arc;

both_engines!(group_round_trips);
async fn group_round_trips(store: Arc<dyn Store>) {
    let mut g = group("Engineering");
    g.external_id = Some("00g1".into());
    store.create_group(&g).await.unwrap();
    assert_eq!(store.get_group(&g.id).await.unwrap(), Some(g.clone()));

    let mut read = store.read().await.unwrap();
    let found = read
        .find_group_by_external_id(&okta(), "00g1")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&g));
    let by_name = read
        .find_groups_by_display_name(&okta(), "ENGINEERING")
        .await
        .unwrap();
    assert_eq!(by_name, vec![g.clone()]);
    assert_eq!(
        read.list_groups(Some(&okta()), None, 10).await.unwrap(),
        vec![g.clone()]
    );
    drop(read);

    let mut renamed = g.clone();
    renamed.display_name = "Engineering (all)".into();
    renamed.updated_at = now();
    let stored = store.update_group(&renamed, 1).await.unwrap();
    assert_eq!(stored.version, 2);
    assert!(matches!(
        store.update_group(&renamed, 1).await,
        Err(StoreError::VersionMismatch {
            expected: 1,
            actual: 2
        })
    ));

    // externalId is unique per connection; display names are not unique.
    let mut dup = group("Other");
    dup.external_id = Some("00g1".into());
    assert!(matches!(
        store.create_group(&dup).await,
        Err(StoreError::Conflict(ConflictKind::GroupExternalIdTaken))
    ));
    store
        .create_group(&group("Engineering (all)"))
        .await
        .unwrap();
    let mut elsewhere = dup.clone();
    elsewhere.connection = ConnectionId::new("entra");
    store.create_group(&elsewhere).await.unwrap();

    store.delete_group(&g.id).await.unwrap();
    assert!(store.get_group(&g.id).await.unwrap().is_none());
    assert!(matches!(
        store.delete_group(&g.id).await,
        Err(StoreError::NotFound)
    ));
}

both_engines!(membership_is_idempotent);
async fn membership_is_idempotent(store: Arc<dyn Store>) {
    let g = group("Engineering");
    store.create_group(&g).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let u = user(&format!("u{i}@acme.com"));
        store.create_user(&u).await.unwrap();
        ids.push(u.id);
    }
    ids.sort();

    assert_eq!(store.add_group_members(&g.id, &ids[..3]).await.unwrap(), 3);
    // Adding present members again changes nothing.
    assert_eq!(store.add_group_members(&g.id, &ids).await.unwrap(), 1);
    assert_eq!(store.add_group_members(&g.id, &ids).await.unwrap(), 0);
    assert_eq!(
        store.list_group_members(&g.id, None, 100).await.unwrap(),
        ids
    );
    // Pages.
    let first = store.list_group_members(&g.id, None, 2).await.unwrap();
    let second = store
        .list_group_members(&g.id, first.last(), 2)
        .await
        .unwrap();
    assert_eq!([first, second].concat(), ids);

    // Removing absent members succeeds.
    let absent = UserId::new("not-a-member");
    assert_eq!(
        store
            .remove_group_members(&g.id, &[ids[0].clone(), absent.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .remove_group_members(&g.id, &[ids[0].clone()])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.list_group_members(&g.id, None, 100).await.unwrap(),
        ids[1..].to_vec()
    );

    // A member that is not a user is a foreign-key error, not a silent no-op.
    assert!(matches!(
        store.add_group_members(&g.id, &[absent]).await,
        Err(StoreError::ForeignKey(_))
    ));

    // Deleting a user or the group removes the membership rows.
    store.delete_user(&ids[1]).await.unwrap();
    assert_eq!(
        store.list_group_members(&g.id, None, 100).await.unwrap(),
        ids[2..].to_vec()
    );
    store.delete_group(&g.id).await.unwrap();
    assert!(store.groups_of_user(&ids[2]).await.unwrap().is_empty());
}

both_engines!(groups_of_a_user);
async fn groups_of_a_user(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let mut eng = group("Engineering");
    eng.external_id = Some("00g-eng".into());
    let ops = group("Ops");
    for g in [&eng, &ops] {
        store.create_group(g).await.unwrap();
        store
            .add_group_members(&g.id, std::slice::from_ref(&u.id))
            .await
            .unwrap();
    }
    assert_eq!(
        store.groups_of_user(&u.id).await.unwrap(),
        vec![
            IdpGroupRef {
                display_name: "Engineering".into(),
                external_id: Some("00g-eng".into())
            },
            IdpGroupRef {
                display_name: "Ops".into(),
                external_id: None
            },
        ]
    );
    let mut ids = vec![eng.id.clone(), ops.id.clone()];
    ids.sort();
    let mut read = store.read().await.unwrap();
    assert_eq!(read.group_ids_of_user(&u.id).await.unwrap(), ids);
}

both_engines!(a_user_and_its_groups_in_one_read);
/// `get_user_with_groups` and `scim_list_users_with_groups` (one statement each) answer
/// what `get_user` / `scim_list_users` and `group_names_of_user` answer, and a list page
/// that is not full tells the same total as the COUNT.
async fn a_user_and_its_groups_in_one_read(store: Arc<dyn Store>) {
    let names = ["Zeta", r#"Eng "core" \ ünïcode"#, "Alpha", "Ops"];
    let mut groups = Vec::new();
    for name in names {
        let g = group(name);
        store.create_group(&g).await.unwrap();
        groups.push(g);
    }
    let mut users = Vec::new();
    for i in 0..5 {
        let u = user(&format!("member{i}@acme.com"));
        store.create_user(&u).await.unwrap();
        users.push(u);
    }
    // Group j has the users j..4: user i is in the groups 0..=i, user 4 in none.
    for (j, g) in groups.iter().enumerate() {
        let members: Vec<UserId> = users[j..4].iter().map(|u| u.id.clone()).collect();
        store.add_group_members(&g.id, &members).await.unwrap();
    }
    let mut read = store.read().await.unwrap();
    for u in &users {
        let (found, their_groups) = read.get_user_with_groups(&u.id).await.unwrap().unwrap();
        assert_eq!(&found, u);
        assert_eq!(
            their_groups,
            read.group_names_of_user(&u.id).await.unwrap(),
            "{}",
            u.user_name
        );
    }
    assert_eq!(
        read.get_user_with_groups(&users[3].id)
            .await
            .unwrap()
            .unwrap()
            .1
            .len(),
        4
    );
    assert!(
        read.get_user_with_groups(&users[4].id)
            .await
            .unwrap()
            .unwrap()
            .1
            .is_empty()
    );
    assert!(
        read.get_user_with_groups(&UserId::new("no-such-user"))
            .await
            .unwrap()
            .is_none()
    );

    for (start_index, count) in [
        (1, 100),
        (1, 5),
        (1, 2),
        (2, 2),
        (5, 2),
        (6, 2),
        (9, 3),
        (1, 0),
    ] {
        let mut q = ScimListQuery::new(okta(), count);
        q.start_index = start_index;
        let plain = read.scim_list_users(&q).await.unwrap();
        let with = read.scim_list_users_with_groups(&q).await.unwrap();
        assert_eq!(plain.total_results, 5, "start {start_index} count {count}");
        assert_eq!(with.total_results, 5, "start {start_index} count {count}");
        let ids: Vec<&UserId> = with.items.iter().map(|(u, _)| &u.id).collect();
        assert_eq!(ids, plain.items.iter().map(|u| &u.id).collect::<Vec<_>>());
        for (u, their_groups) in &with.items {
            assert_eq!(
                their_groups,
                &read.group_names_of_user(&u.id).await.unwrap()
            );
        }
    }
    let mut none = ScimListQuery::new(okta(), 10);
    none.filter = Some(idp_sync::scim::Filter::parse(r#"userName eq "nobody""#).unwrap());
    assert_eq!(
        read.scim_list_users_with_groups(&none)
            .await
            .unwrap()
            .total_results,
        0
    );
    none.start_index = 3;
    assert_eq!(read.scim_list_users(&none).await.unwrap().total_results, 0);
}
