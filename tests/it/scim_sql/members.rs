//! Big groups: batched member changes, counts, cursor pages.

use super::user_of;
use crate::support::both_engines;
use idp_sync::domain::{IdpGroup, UserId};
use idp_sync::store::Store;
use serde_json::json;
use std::sync::Arc;

both_engines!(big_group_members_in_batches);
async fn big_group_members_in_batches(store: Arc<dyn Store>) {
    let g = IdpGroup::new(crate::store::okta(), "Everyone", super::base_time());
    store.create_group(&g).await.unwrap();
    let mut ids = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for i in 0..2500 {
        let u = user_of("okta", &format!("u{i}@acme.com"), json!({}));
        tx.create_user(&u).await.unwrap();
        ids.push(u.id);
    }
    tx.commit().await.unwrap();
    ids.sort();

    // More than one chunk, with duplicates in the request.
    let mut request = ids.clone();
    request.extend(ids[..10].iter().cloned());
    assert_eq!(
        store.add_group_members(&g.id, &request).await.unwrap(),
        2500
    );
    assert_eq!(
        store.add_group_members(&g.id, &ids[..1200]).await.unwrap(),
        0
    );
    assert_eq!(store.count_group_members(&g.id).await.unwrap(), 2500);

    // Cursor pages cover everyone once, in id order.
    let mut seen = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = store
            .list_group_members(&g.id, after.as_ref(), 700)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, ids);

    let removed = store
        .remove_group_members(&g.id, &ids[1000..2100])
        .await
        .unwrap();
    assert_eq!(removed, 1100);
    assert_eq!(store.count_group_members(&g.id).await.unwrap(), 1400);
    let ask = [
        ids[5].clone(),
        ids[1500].clone(),
        UserId::new("not-a-user"),
        ids[2200].clone(),
    ];
    let mut read = store.read().await.unwrap();
    assert_eq!(
        read.members_among(&g.id, &ask).await.unwrap(),
        vec![ids[5].clone(), ids[2200].clone()]
    );
    assert_eq!(
        store
            .remove_group_members(&g.id, &ids[1000..2100])
            .await
            .unwrap(),
        0
    );
}
