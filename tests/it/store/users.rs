//! Users: round trips, lookups by every identity, versions, uniqueness, paging.

use super::{now, okta, user};
use crate::support::both_engines;
use idp_sync::domain::{ConnectionId, UserId, UserState};
use idp_sync::store::{ConflictKind, Store, StoreError, UserQuery};
use serde_json::json;
use std::sync::Arc;

both_engines!(user_round_trips);
async fn user_round_trips(store: Arc<dyn Store>) {
    let mut u = user("Ana@Acme.com");
    u.external_id = Some("00u1".into());
    u.sso_subject = Some("sub-1".into());
    u.display_name = Some("Ana Lima".into());
    u.given_name = Some("Ana".into());
    u.family_name = Some("Lima".into());
    u.accepted_at = Some(now());
    u.scim = json!({"userName": "Ana@Acme.com", "urn:ext": {"costCenter": "42"}});
    store.create_user(&u).await.unwrap();

    assert_eq!(store.get_user(&u.id).await.unwrap(), Some(u.clone()));
    let by_name = store
        .find_user_by_user_name(&okta(), "ana@acme.COM")
        .await
        .unwrap();
    assert_eq!(by_name.as_ref().map(|x| &x.id), Some(&u.id));
    let by_ext = store
        .find_user_by_external_id(&okta(), "00u1")
        .await
        .unwrap();
    assert_eq!(by_ext.map(|x| x.id), Some(u.id.clone()));
    let by_sub = store
        .find_user_by_sso_subject(&okta(), "sub-1")
        .await
        .unwrap();
    assert_eq!(by_sub.map(|x| x.id), Some(u.id.clone()));
    let other = ConnectionId::new("entra");
    assert!(
        store
            .find_user_by_user_name(&other, "ana@acme.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_user(&UserId::new("nobody"))
            .await
            .unwrap()
            .is_none()
    );
}

both_engines!(update_checks_the_version);
async fn update_checks_the_version(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();

    let mut changed = u.clone();
    changed.state = UserState::Invited;
    changed.display_name = Some("Ana".into());
    changed.updated_at = now();
    let stored = store.update_user(&changed, 1).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(store.get_user(&u.id).await.unwrap(), Some(stored.clone()));

    // A writer that read version 1 loses.
    let err = store.update_user(&changed, 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::VersionMismatch {
                expected: 1,
                actual: 2
            }
        ),
        "{err:?}"
    );
    let mut ghost = u.clone();
    ghost.id = UserId::new("ghost");
    assert!(matches!(
        store.update_user(&ghost, 1).await,
        Err(StoreError::NotFound)
    ));
}

both_engines!(user_uniqueness_is_typed);
async fn user_uniqueness_is_typed(store: Arc<dyn Store>) {
    let mut u = user("ana@acme.com");
    u.external_id = Some("00u1".into());
    u.sso_subject = Some("sub-1".into());
    store.create_user(&u).await.unwrap();

    let conflict = |e: StoreError| match e {
        StoreError::Conflict(kind) => kind,
        other => panic!("expected a conflict, got {other:?}"),
    };
    // userName is unique per connection, case-insensitively (Unicode too).
    let err = store.create_user(&user("ANA@ACME.COM")).await.unwrap_err();
    assert_eq!(conflict(err), ConflictKind::UserNameTaken);

    let mut same_ext = user("other@acme.com");
    same_ext.external_id = Some("00u1".into());
    let err = store.create_user(&same_ext).await.unwrap_err();
    assert_eq!(conflict(err), ConflictKind::ExternalIdTaken);

    let mut same_sub = user("third@acme.com");
    same_sub.sso_subject = Some("sub-1".into());
    let err = store.create_user(&same_sub).await.unwrap_err();
    assert_eq!(conflict(err), ConflictKind::SsoSubjectTaken);

    let mut same_id = user("fourth@acme.com");
    same_id.id = u.id.clone();
    let err = store.create_user(&same_id).await.unwrap_err();
    assert_eq!(conflict(err), ConflictKind::UserIdTaken);

    // Renaming into a taken name is a conflict too.
    let mut renamed = user("fifth@acme.com");
    store.create_user(&renamed).await.unwrap();
    renamed.user_name = "Ana@Acme.Com".into();
    let err = store.update_user(&renamed, 1).await.unwrap_err();
    assert_eq!(conflict(err), ConflictKind::UserNameTaken);

    // Unicode case folding is the same on both engines.
    store.create_user(&user("ÉLODIE@acme.com")).await.unwrap();
    let err = store
        .create_user(&user("élodie@acme.com"))
        .await
        .unwrap_err();
    assert_eq!(conflict(err), ConflictKind::UserNameTaken);

    // Another connection may use all of them; several users may lack an externalId.
    let mut elsewhere = u.clone();
    elsewhere.id = UserId::generate();
    elsewhere.connection = ConnectionId::new("entra");
    store.create_user(&elsewhere).await.unwrap();
    store.create_user(&user("no-ext-1@acme.com")).await.unwrap();
    store.create_user(&user("no-ext-2@acme.com")).await.unwrap();
}

both_engines!(delete_and_list_users);
async fn delete_and_list_users(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut u = user(&format!("user{i}@acme.com"));
        if i % 2 == 0 {
            u.state = UserState::Active;
        }
        store.create_user(&u).await.unwrap();
        ids.push(u.id);
    }
    let mut elsewhere = user("x@acme.com");
    elsewhere.connection = ConnectionId::new("entra");
    store.create_user(&elsewhere).await.unwrap();
    ids.sort();

    let query = |after: Option<UserId>| UserQuery {
        connection: Some(okta()),
        after,
        limit: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(&query(after.clone())).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|u| u.id.clone());
        seen.extend(page.into_iter().map(|u| u.id));
    }
    assert_eq!(seen, ids);

    let active = store
        .list_users(&UserQuery {
            state: Some(UserState::Active),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(active.len(), 3);
    assert_eq!(
        store.list_users(&UserQuery::default()).await.unwrap().len(),
        6
    );

    store.delete_user(&ids[0]).await.unwrap();
    assert!(store.get_user(&ids[0]).await.unwrap().is_none());
    assert!(matches!(
        store.delete_user(&ids[0]).await,
        Err(StoreError::NotFound)
    ));
}

both_engines!(point_reads_agree_with_the_pool);
/// SQLite answers a user by id and unique-key filters on the calling task
/// (`Store::point_reads`); what it returns is what the pooled reads return.
async fn point_reads_agree_with_the_pool(store: Arc<dyn Store>) {
    use idp_sync::scim::Filter;
    use idp_sync::store::{Engine, ScimListQuery};
    let Some(point) = store.point_reads() else {
        assert_eq!(
            store.engine(),
            Engine::Postgres,
            "SQLite files have point reads"
        );
        return;
    };
    let mut ana = user("Ana@Acme.com");
    ana.external_id = Some("00u1".into());
    ana.scim = json!({"userName": "Ana@Acme.com", "name": {"givenName": "Ana"}});
    let bob = user("bob@acme.com");
    store.create_user(&ana).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let (eng, ops) = (super::group("Engineering"), super::group("Ops"));
    for g in [&eng, &ops] {
        store.create_group(g).await.unwrap();
        store
            .add_group_members(&g.id, &[ana.id.clone()])
            .await
            .unwrap();
    }

    let doc = point.user(&ana.id).unwrap().unwrap();
    let (pooled, groups) = store
        .read()
        .await
        .unwrap()
        .get_user_with_groups(&ana.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc.id, pooled.id);
    assert_eq!(doc.connection, pooled.connection);
    assert_eq!(doc.user_name, pooled.user_name);
    assert_eq!(doc.external_id, pooled.external_id);
    assert_eq!(doc.version, pooled.version);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc.scim).unwrap(),
        pooled.scim
    );
    assert_eq!(doc.groups, shared(groups));
    assert_eq!(doc.groups.len(), 2);
    assert!(
        doc.created_at
            .starts_with(&pooled.created_at.format("%Y-%m-%dT%H:%M:%S").to_string())
    );
    assert_eq!(point.user(&UserId::new("nobody")), Some(None));
    assert_eq!(point.user(&bob.id).unwrap().unwrap().groups, Vec::new());

    let query = |filter: &str, start_index: u64, count: u32| ScimListQuery {
        connection: okta(),
        filter: Some(Filter::parse(filter).unwrap()),
        sort_by: None,
        descending: false,
        start_index,
        count,
    };
    for filter in [
        r#"userName eq "ANA@acme.com""#,
        r#"externalId eq "00u1""#,
        &format!(r#"id eq "{}""#, ana.id),
    ] {
        let page = point.users(&query(filter, 1, 100), true).unwrap();
        assert_eq!(page.total_results, 1, "{filter}");
        assert_eq!(page.items, vec![doc.clone()], "{filter}");
        // Past the end, and a count of 0: the total alone.
        for (start, count) in [(2, 100), (1, 0)] {
            let page = point.users(&query(filter, start, count), true).unwrap();
            assert_eq!((page.total_results, page.items.len()), (1, 0), "{filter}");
        }
    }
    let without_groups = point
        .users(&query(r#"userName eq "ana@acme.com""#, 1, 10), false)
        .unwrap();
    assert!(without_groups.items[0].groups.is_empty());
    let none = point
        .users(&query(r#"userName eq "carla@acme.com""#, 1, 10), true)
        .unwrap();
    assert_eq!((none.total_results, none.items.len()), (0, 0));
    // Another connection's user is not found by a filter.
    let mut other = query(r#"userName eq "ana@acme.com""#, 1, 10);
    other.connection = ConnectionId::new("entra");
    assert_eq!(point.users(&other, true).unwrap().total_results, 0);
    // Anything but an equality on a unique key is left to the pool.
    for filter in [
        r#"userName co "ana""#,
        r#"displayName eq "Ana""#,
        "active eq true",
    ] {
        assert!(
            point.users(&query(filter, 1, 10), true).is_none(),
            "{filter}"
        );
    }
}

both_engines!(point_reads_show_renamed_and_new_groups);
/// SQLite's point reads keep group names in memory (src/store/sqlite/point.rs): a rename,
/// a new membership, a new group and a left group all show in the next read, as the pooled
/// read shows them.
async fn point_reads_show_renamed_and_new_groups(store: Arc<dyn Store>) {
    let Some(point) = store.point_reads() else {
        return;
    };
    let ana = user("ana@acme.com");
    store.create_user(&ana).await.unwrap();
    let eng = super::group("Engineering");
    store.create_group(&eng).await.unwrap();
    store
        .add_group_members(&eng.id, std::slice::from_ref(&ana.id))
        .await
        .unwrap();
    let names = |doc: idp_sync::store::UserDoc| {
        doc.groups
            .into_iter()
            .map(|(_, name)| name.to_string())
            .collect::<Vec<_>>()
    };
    let pooled = || async {
        let (_, groups) = store
            .read()
            .await
            .unwrap()
            .get_user_with_groups(&ana.id)
            .await
            .unwrap()
            .unwrap();
        shared(groups)
    };
    assert_eq!(
        names(point.user(&ana.id).unwrap().unwrap()),
        ["Engineering"]
    );
    // Read twice: the second answer comes from the names kept in memory.
    assert_eq!(
        names(point.user(&ana.id).unwrap().unwrap()),
        ["Engineering"]
    );

    // A rename.
    let mut renamed = eng.clone();
    renamed.display_name = "Platform Engineering".into();
    let mut tx = store.begin().await.unwrap();
    tx.update_group(&renamed, eng.version).await.unwrap();
    tx.commit().await.unwrap();
    let doc = point.user(&ana.id).unwrap().unwrap();
    assert_eq!(doc.groups, pooled().await);
    assert_eq!(names(doc), ["Platform Engineering"]);

    // A new group with the user in it, then the first one left.
    let ops = super::group("Ops");
    store.create_group(&ops).await.unwrap();
    store
        .add_group_members(&ops.id, std::slice::from_ref(&ana.id))
        .await
        .unwrap();
    let doc = point.user(&ana.id).unwrap().unwrap();
    assert_eq!(doc.groups, pooled().await);
    assert_eq!(doc.groups.len(), 2);
    let mut tx = store.begin().await.unwrap();
    tx.remove_group_members(&eng.id, std::slice::from_ref(&ana.id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let doc = point.user(&ana.id).unwrap().unwrap();
    assert_eq!(doc.groups, pooled().await);
    assert_eq!(names(doc), ["Ops"]);

    // A rename seen first through a filter, then again from memory.
    let mut renamed = ops.clone();
    renamed.display_name = "Operations".into();
    let mut tx = store.begin().await.unwrap();
    tx.update_group(&renamed, ops.version).await.unwrap();
    tx.commit().await.unwrap();
    let query = idp_sync::store::ScimListQuery {
        connection: okta(),
        filter: Some(idp_sync::scim::Filter::parse(r#"userName eq "ana@acme.com""#).unwrap()),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 10,
    };
    for _ in 0..2 {
        let mut page = point.users(&query, true).unwrap();
        assert_eq!(page.total_results, 1);
        let doc = page.items.remove(0);
        assert_eq!(doc.groups, pooled().await);
        assert_eq!(names(doc), ["Operations"]);
    }
}

/// Groups as the pooled reads return them, in the form of [`idp_sync::store::UserDoc`]'s.
fn shared(groups: Vec<(idp_sync::domain::GroupId, String)>) -> Vec<(Arc<str>, Arc<str>)> {
    groups
        .into_iter()
        .map(|(id, name)| (Arc::from(id.as_str()), Arc::from(name)))
        .collect()
}
