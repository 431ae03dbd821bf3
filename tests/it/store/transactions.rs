//! One change, one transaction: all of it commits, or none of it.

use super::{now, user};
use crate::support::both_engines;
use idp_sync::domain::{
    Access, AuditEvent, EventType, OutboxEvent, ResolvedAccess, User, UserState,
};
use idp_sync::store::{AuditQuery, ConflictKind, OutboxQuery, Store, StoreError, StoreTx};
use serde_json::json;
use std::sync::Arc;

fn access() -> ResolvedAccess {
    let mut access = Access::new("Editor".into());
    access.organizations.insert("acme".into());
    ResolvedAccess {
        organization_sources: [("acme".into(), Default::default())].into(),
        access,
        role_sources: Default::default(),
        capped_from: None,
    }
}

both_engines!(a_change_commits_everything_together);
async fn a_change_commits_everything_together(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();

    // Read-modify-write in one transaction: user + access + audit + outbox.
    let mut tx = store.begin().await.unwrap();
    let mut current = tx.get_user_for_update(&u.id).await.unwrap().unwrap();
    current.state = UserState::Invited;
    let version = current.version;
    let stored = tx.update_user(&current, version).await.unwrap();
    tx.set_access(&u.id, &access(), now()).await.unwrap();
    tx.append_audit(&AuditEvent::new("user.invited", "scim:okta", now()).about(&stored))
        .await
        .unwrap();
    let event = OutboxEvent {
        id: OutboxEvent::new_id(),
        event_type: EventType::UserInvited,
        user_id: Some(u.id.clone()),
        occurred_at: now(),
        payload: json!({}),
    };
    tx.enqueue_outbox_event(&event, &["email".into()])
        .await
        .unwrap();
    // The transaction sees its own writes.
    assert_eq!(
        tx.get_user(&u.id).await.unwrap().map(|x| x.state),
        Some(UserState::Invited)
    );
    tx.commit().await.unwrap();

    assert_eq!(store.get_user(&u.id).await.unwrap().unwrap().version, 2);
    assert!(store.get_access(&u.id).await.unwrap().is_some());
    assert_eq!(
        store
            .list_audit(&AuditQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list_outbox_events(&OutboxQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

both_engines!(a_change_that_fails_halfway_leaves_nothing);
async fn a_change_that_fails_halfway_leaves_nothing(store: Arc<dyn Store>) {
    let taken = user("taken@acme.com");
    store.create_user(&taken).await.unwrap();

    let newcomer = user("new@acme.com");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(&newcomer).await.unwrap();
    tx.set_access(&newcomer.id, &access(), now()).await.unwrap();
    tx.append_audit(&AuditEvent::new("user.invited", "scim:okta", now()).about(&newcomer))
        .await
        .unwrap();
    let event = OutboxEvent {
        id: OutboxEvent::new_id(),
        event_type: EventType::UserInvited,
        user_id: Some(newcomer.id.clone()),
        occurred_at: now(),
        payload: json!({}),
    };
    tx.enqueue_outbox_event(&event, &["email".into()])
        .await
        .unwrap();
    // The last operation breaks a constraint: reported by the call, or by the commit where
    // the store holds the write back until then (SQLite's group commit, sql/deferred.rs).
    assert_user_name_taken(tx, &user("TAKEN@acme.com")).await;

    assert!(store.get_user(&newcomer.id).await.unwrap().is_none());
    assert!(store.get_access(&newcomer.id).await.unwrap().is_none());
    assert!(
        store
            .list_audit(&AuditQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_outbox_events(&OutboxQuery::default())
            .await
            .unwrap()
            .is_empty()
    );

    // The store is usable afterwards (the writer was released).
    store.create_user(&newcomer).await.unwrap();
}

both_engines!(explicit_rollback_discards);
async fn explicit_rollback_discards(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(&u).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(store.get_user(&u.id).await.unwrap().is_none());
}

both_engines!(concurrent_writers_do_not_deadlock);
async fn concurrent_writers_do_not_deadlock(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let g = super::group("Engineering");
    store.create_group(&g).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let gid = g.id.clone();
        tasks.push(tokio::spawn(async move {
            let member = user(&format!("m{i}@acme.com"));
            let mut tx = store.begin().await?;
            tx.create_user(&member).await?;
            tx.add_group_members(&gid, std::slice::from_ref(&member.id))
                .await?;
            tx.append_audit(&AuditEvent::new("group.member_added", "test", now()))
                .await?;
            tx.commit().await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        store
            .list_group_members(&g.id, None, 100)
            .await
            .unwrap()
            .len(),
        8
    );
}

both_engines!(concurrent_writes_fail_and_commit_one_by_one);
/// Concurrent write transactions (on SQLite they share one group commit): each one's
/// conflict, rollback or drop undoes only its own work, and every commit that returned `Ok`
/// is visible to readers.
async fn concurrent_writes_fail_and_commit_one_by_one(store: Arc<dyn Store>) {
    store.create_user(&user("taken@acme.com")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let name = match i % 4 {
                0 => "taken@acme.com".to_owned(),
                _ => format!("u{i}@acme.com"),
            };
            let u = user(&name);
            match tx.create_user(&u).await {
                Err(StoreError::Conflict(ConflictKind::UserNameTaken)) if i % 4 == 0 => {
                    return None;
                }
                Ok(()) => {}
                other => panic!("write {i}: {other:?}"),
            }
            tx.append_audit(&AuditEvent::new("test", "test", now()).about(&u))
                .await
                .unwrap();
            match i % 4 {
                // The taken name, held back until the commit: the commit reports it.
                0 => {
                    let err = tx.commit().await.unwrap_err();
                    assert!(
                        matches!(err, StoreError::Conflict(ConflictKind::UserNameTaken)),
                        "write {i}: {err:?}"
                    );
                    None
                }
                1 => {
                    tx.rollback().await.unwrap();
                    None
                }
                2 => {
                    drop(tx);
                    None
                }
                _ => {
                    tx.commit().await.unwrap();
                    Some(u.id)
                }
            }
        }));
    }
    let mut committed = Vec::new();
    for t in tasks {
        committed.extend(t.await.unwrap());
    }
    assert_eq!(committed.len(), 12);
    for id in &committed {
        assert!(store.get_user(id).await.unwrap().is_some());
    }
    let all = store
        .list_users(&idp_sync::store::UserQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 13, "the taken user and the 12 committed ones");
    let audit = store
        .list_audit(&AuditQuery {
            kind: Some("test".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 12, "only the committed writes' audit rows");
}

/// SQLite's WAL is copied back into the database by the store's checkpoint thread, not by
/// the writer: after a few MB of writes the database file grows within a second or so,
/// though the writer's own checkpoint would wait for 20,000 pages (80 MB).
#[tokio::test]
async fn the_sqlite_wal_is_checkpointed_in_the_background() {
    use idp_sync::store::Engine;
    let db = crate::support::TestDb::migrated(Engine::Sqlite).await;
    let file = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://"));
    let before = std::fs::metadata(&file).unwrap().len();
    let filler = "x".repeat(3_000);
    for i in 0..2_000 {
        let mut u = super::user(&format!("user{i}@acme.com"));
        u.scim = serde_json::json!({ "title": filler });
        db.store.create_user(&u).await.unwrap();
    }
    let wal = std::fs::metadata(format!("{}-wal", file.display()))
        .unwrap()
        .len();
    assert!(wal > 4 << 20, "the WAL holds the writes: {wal} bytes");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = std::fs::metadata(&file).unwrap().len();
        if now > before + (4 << 20) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint: the database file is still {now} bytes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

both_engines!(a_transaction_reads_its_own_held_back_writes);
/// A write the store holds back until the next statement (SQLite's group commit,
/// sql/deferred.rs) is sent before that statement: the transaction reads what it wrote, in
/// the order written, and a conflict after it undoes both.
async fn a_transaction_reads_its_own_held_back_writes(store: Arc<dyn Store>) {
    let ana = user("ana@acme.com");
    let mut tx = store.begin().await.unwrap();
    tx.create_user(&ana).await.unwrap();
    tx.append_audit(&AuditEvent::new("user.invited", "scim:okta", now()).about(&ana))
        .await
        .unwrap();
    let read = tx.get_user_for_update(&ana.id).await.unwrap();
    assert_eq!(read.map(|u| u.user_name), Some("ana@acme.com".to_owned()));
    let audit = tx
        .list_audit(&AuditQuery {
            user: Some(ana.id.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    // The same userName again: refused at the call or at the commit; nothing stays.
    assert_user_name_taken(tx, &user("ANA@acme.com")).await;
    assert!(store.get_user(&ana.id).await.unwrap().is_none());
    assert!(
        store
            .list_audit(&AuditQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Creates `taken` (whose userName is taken) in `tx` and commits: the conflict is reported
/// by the call, or by the commit where the store holds the write back until then (SQLite's
/// group commit, sql/deferred.rs). Either way `tx` ends without committing.
async fn assert_user_name_taken(mut tx: Box<dyn StoreTx>, taken: &User) {
    let err = match tx.create_user(taken).await {
        Err(e) => {
            drop(tx);
            e
        }
        Ok(()) => tx.commit().await.unwrap_err(),
    };
    assert!(
        matches!(err, StoreError::Conflict(ConflictKind::UserNameTaken)),
        "{err:?}"
    );
}
