//! The filters Okta and Entra send, and the other shapes a SCIM client may use.

use super::{at, base_time, user_ids, user_of};
use crate::support::both_engines;
use idp_sync::domain::{ConnectionId, IdpGroup, UserId};
use idp_sync::scim::{AttrPath, Filter};
use idp_sync::store::{ScimListQuery, Store, StoreError};
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// ana (work mail at acme, Engineering), bob (home mail at acme, inactive), cleo (work mail
/// elsewhere), and a user of another connection with ana's name.
async fn directory(store: &Arc<dyn Store>) -> [String; 3] {
    let mut ana = user_of(
        "okta",
        "ana@acme.com",
        json!({
            "userName": "ana@acme.com",
            "title": "Engineer",
            "emails": [{"value": "ana@acme.com", "type": "work", "primary": true}],
            ENTERPRISE: {"department": "Engineering", "employeeNumber": "1001"}
        }),
    );
    ana.external_id = Some("00u-ana".into());
    ana.given_name = Some("Ana".into());
    ana.family_name = Some("Zeta".into());
    let mut bob = user_of(
        "okta",
        "bob@acme.com",
        json!({
            "emails": [{"value": "bob@acme.com", "type": "home"},
                       {"value": "bob@example.org", "type": "work"}],
            ENTERPRISE: {"department": "Sales"}
        }),
    );
    bob.active = false;
    bob.external_id = Some("00U-BOB".into());
    bob.family_name = Some("Young".into());
    bob.updated_at = at(3600);
    let mut cleo = user_of(
        "okta",
        "Cleo@Example.org",
        json!({"emails": [{"value": "cleo@example.org", "type": "work"}]}),
    );
    cleo.family_name = Some("Xu".into());
    cleo.updated_at = at(7200);
    let other = user_of("entra", "ana@acme.com", json!({"title": "Engineer"}));
    for u in [&ana, &bob, &cleo, &other] {
        store.create_user(u).await.unwrap();
    }
    [ana.id.to_string(), bob.id.to_string(), cleo.id.to_string()]
}

fn sorted(ids: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

both_engines!(okta_and_entra_user_filters);
async fn okta_and_entra_user_filters(store: Arc<dyn Store>) {
    let [ana, bob, cleo] = directory(&store).await;
    // Okta looks users up by userName, in whatever case the admin typed it.
    assert_eq!(
        user_ids(&store, "okta", r#"userName eq "Ana@Acme.com""#).await,
        vec![ana.clone()]
    );
    // Entra probes with a random GUID before creating: an empty page, totalResults 0.
    let mut q = ScimListQuery::new(ConnectionId::new("okta"), 100);
    q.filter =
        Some(Filter::parse(r#"userName eq "7f3a9c1e-0b7d-4e0e-9a51-6a1d2c3b4e5f""#).unwrap());
    let page = store.scim_list_users(&q).await.unwrap();
    assert_eq!((page.total_results, page.items.len()), (0, 0));

    // externalId is caseExact.
    assert_eq!(
        user_ids(&store, "okta", r#"externalId eq "00U-BOB""#).await,
        vec![bob.clone()]
    );
    assert!(
        user_ids(&store, "okta", r#"externalId eq "00u-bob""#)
            .await
            .is_empty()
    );
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"emails[type eq "work" and value co "@acme.com"]"#
        )
        .await,
        vec![ana.clone()]
    );
    // Without brackets, the two conditions may hold for different emails (bob).
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"emails.type eq "work" and emails.value co "@ACME.com""#
        )
        .await,
        sorted(&[&ana, &bob])
    );
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"meta.lastModified gt "2026-01-15T10:30:00Z""#
        )
        .await,
        sorted(&[&bob, &cleo])
    );
    // Same instant in another offset.
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"meta.lastModified ge "2026-01-15T13:00:00+01:00""#
        )
        .await,
        vec![cleo.clone()]
    );
    assert_eq!(
        user_ids(
            &store,
            "okta",
            &format!(r#"{ENTERPRISE}:department eq "engineering""#)
        )
        .await,
        vec![ana.clone()]
    );
    assert_eq!(
        user_ids(&store, "okta", r#"not (active eq true)"#).await,
        vec![bob.clone()]
    );
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"(title pr or name.familyName sw "x") and not (userName ew "acme.com")"#
        )
        .await,
        vec![cleo.clone()]
    );
    assert_eq!(
        user_ids(
            &store,
            "okta",
            r#"userName eq "ana@acme.com" or userName eq "cleo@example.org""#
        )
        .await,
        sorted(&[&ana, &cleo])
    );
    // A missing attribute matches `ne` and `eq null`.
    assert_eq!(
        user_ids(&store, "okta", r#"title ne "Engineer""#).await,
        sorted(&[&bob, &cleo])
    );
    assert_eq!(
        user_ids(&store, "okta", r#"externalId eq null"#).await,
        vec![cleo.clone()]
    );
    // LIKE wildcards in the value are literal.
    assert!(
        user_ids(&store, "okta", r#"userName co "%""#)
            .await
            .is_empty()
    );
    assert!(
        user_ids(&store, "okta", r#"externalId sw "00_""#)
            .await
            .is_empty()
    );
    // Another connection's users never appear.
    assert_eq!(user_ids(&store, "okta", r#"title pr"#).await, vec![ana]);
    assert_eq!(user_ids(&store, "entra", r#"userName pr"#).await.len(), 1);

    // Refused rather than guessed.
    q.filter = Some(Filter::parse(r#"meta.created co "2026""#).unwrap());
    assert!(matches!(
        store.scim_list_users(&q).await,
        Err(StoreError::UnsupportedFilter(_))
    ));
}

both_engines!(group_filters);
async fn group_filters(store: Arc<dyn Store>) {
    let [ana, bob, _] = directory(&store).await;
    let connection = ConnectionId::new("okta");
    let mut eng = IdpGroup::new(connection.clone(), "Engineering", base_time());
    eng.external_id = Some("00g-eng".into());
    let sales = IdpGroup::new(connection.clone(), "Sales", at(1));
    let elsewhere = IdpGroup::new(ConnectionId::new("entra"), "Engineering", base_time());
    for g in [&eng, &sales, &elsewhere] {
        store.create_group(g).await.unwrap();
    }
    store
        .add_group_members(
            &eng.id,
            &[UserId::new(ana.clone()), UserId::new(bob.clone())],
        )
        .await
        .unwrap();
    store
        .add_group_members(&sales.id, &[UserId::new(bob.clone())])
        .await
        .unwrap();

    let groups = |filter: &str| {
        let store = store.clone();
        let connection = connection.clone();
        let filter = filter.to_owned();
        async move {
            let mut q = ScimListQuery::new(connection, 100);
            q.filter = Some(Filter::parse(&filter).unwrap());
            let page = store.scim_list_groups(&q).await.unwrap();
            assert_eq!(page.total_results as usize, page.items.len());
            page.items
                .into_iter()
                .map(|g| g.display_name)
                .collect::<BTreeSet<_>>()
        }
    };
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        groups(r#"displayName eq "ENGINEERING""#).await,
        names(&["Engineering"])
    );
    assert_eq!(
        groups(r#"externalId eq "00g-eng""#).await,
        names(&["Engineering"])
    );
    assert_eq!(
        groups(&format!(r#"members[value eq "{ana}"]"#)).await,
        names(&["Engineering"])
    );
    assert_eq!(
        groups(&format!(r#"members.value eq "{bob}""#)).await,
        names(&["Engineering", "Sales"])
    );
    assert_eq!(
        groups(&format!(
            r#"displayName eq "sales" and members[value eq "{}"]"#,
            bob.to_uppercase()
        ))
        .await,
        names(&["Sales"])
    );
    assert_eq!(
        groups(&format!(r#"id eq "{}""#, sales.id)).await,
        names(&["Sales"])
    );
    assert_eq!(groups(r#"not (members pr)"#).await, names(&[]));
    // Users filtered by their groups.
    assert_eq!(
        user_ids(
            &store,
            "okta",
            &format!(r#"groups[value eq "{}"]"#, sales.id)
        )
        .await,
        vec![bob]
    );
}

both_engines!(sorted_pages_cover_everyone_once);
async fn sorted_pages_cover_everyone_once(store: Arc<dyn Store>) {
    // Ties on familyName and createdAt, some names missing: id breaks ties.
    let mut expected = BTreeSet::new();
    for i in 0..25 {
        let mut u = user_of("okta", &format!("user{i:02}@acme.com"), json!({}));
        u.family_name = (i % 4 != 0).then(|| format!("Family{}", i % 3));
        u.created_at = at(i % 2);
        store.create_user(&u).await.unwrap();
        expected.insert(u.id.to_string());
    }
    store
        .create_user(&user_of("entra", "user00@acme.com", json!({})))
        .await
        .unwrap();
    for (sort_by, descending) in [
        (None, false),
        (Some(AttrPath::new("userName")), false),
        (Some(AttrPath::with_sub("name", "familyName")), false),
        (Some(AttrPath::with_sub("name", "familyName")), true),
        (Some(AttrPath::with_sub("meta", "created")), true),
        (Some(AttrPath::new("title")), false),
    ] {
        let mut seen = Vec::new();
        for start in [1, 10, 19] {
            let q = ScimListQuery {
                connection: ConnectionId::new("okta"),
                filter: None,
                sort_by: sort_by.clone(),
                descending,
                start_index: start,
                count: 9,
            };
            let page = store.scim_list_users(&q).await.unwrap();
            assert_eq!(page.total_results, 25);
            seen.extend(page.items);
        }
        let ids: BTreeSet<String> = seen.iter().map(|u| u.id.to_string()).collect();
        assert_eq!(seen.len(), 25, "{sort_by:?}");
        assert_eq!(ids, expected, "{sort_by:?}");
        if sort_by == Some(AttrPath::with_sub("name", "familyName")) {
            // Missing values last, whichever the direction.
            assert!(seen[18..].iter().all(|u| u.family_name.is_none()));
            let named: Vec<&String> = seen.iter().filter_map(|u| u.family_name.as_ref()).collect();
            let mut order = named.clone();
            order.sort();
            if descending {
                order.reverse();
            }
            assert_eq!(named, order);
        }
    }
    // count 0: only the total.
    let q = ScimListQuery::new(ConnectionId::new("okta"), 0);
    let page = store.scim_list_users(&q).await.unwrap();
    assert_eq!((page.total_results, page.items.len()), (25, 0));
}
