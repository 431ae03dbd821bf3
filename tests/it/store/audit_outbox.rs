//! The audit log and the outbox: ordering, cursors, survival of deleted users, claims.

use super::{now, user};
use crate::support::both_engines;
use chrono::Duration;
use idp_sync::domain::{AuditEvent, EventType, OutboxEvent, UserId};
use idp_sync::store::{AuditQuery, DeliveryStatus, OutboxQuery, Store};
use serde_json::json;
use std::sync::Arc;

both_engines!(audit_lists_newest_first_with_a_cursor);
async fn audit_lists_newest_first_with_a_cursor(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let t0 = now();
    for i in 0..5 {
        let kind = if i % 2 == 0 {
            "user.invited"
        } else {
            "config.reloaded"
        };
        let mut e =
            AuditEvent::new(kind, "system", t0 + Duration::seconds(i)).with_detail(json!({"i": i}));
        if i % 2 == 0 {
            e = e.about(&u);
        }
        store.append_audit(&e).await.unwrap();
    }
    // The log, oldest first: every event, in the order appended, `seq` increasing.
    let mut all = store.list_audit(&AuditQuery::default()).await.unwrap();
    all.reverse();
    assert_eq!(
        all.iter().map(|e| e.detail.clone()).collect::<Vec<_>>(),
        (0..5).map(|i| json!({ "i": i })).collect::<Vec<_>>()
    );
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let page = |before_seq| AuditQuery {
        before_seq,
        limit: 2,
        ..Default::default()
    };
    let first = store.list_audit(&page(None)).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [seqs[4], seqs[3]]
    );
    assert_eq!(first[0].detail, json!({"i": 4}));
    assert_eq!(first[0].occurred_at, t0 + Duration::seconds(4));
    let second = store
        .list_audit(&page(first.last().map(|e| e.seq)))
        .await
        .unwrap();
    assert_eq!(
        second.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [seqs[2], seqs[1]]
    );

    let about_ana = store
        .list_audit(&AuditQuery {
            user: Some(u.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(about_ana.len(), 3);
    assert!(
        about_ana
            .iter()
            .all(|e| e.user_name.as_deref() == Some("ana@acme.com"))
    );
    let reloads = store
        .list_audit(&AuditQuery {
            kind: Some("config.reloaded".into()),
            since: Some(t0 + Duration::seconds(2)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(reloads.iter().map(|e| e.seq).collect::<Vec<_>>(), [seqs[3]]);
}

both_engines!(audit_and_outbox_survive_their_user);
async fn audit_and_outbox_survive_their_user(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let event = OutboxEvent {
        id: OutboxEvent::new_id(),
        event_type: EventType::UserRemoved,
        user_id: Some(u.id.clone()),
        occurred_at: now(),
        payload: json!({"type": "user.removed"}),
    };
    let mut tx = store.begin().await.unwrap();
    tx.append_audit(&AuditEvent::new("user.removed", "scim:okta", now()).about(&u))
        .await
        .unwrap();
    tx.enqueue_outbox_event(&event, &["email".into()])
        .await
        .unwrap();
    tx.delete_user(&u.id).await.unwrap();
    tx.commit().await.unwrap();

    let audit = store
        .list_audit(&AuditQuery {
            user: Some(u.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let events = store
        .list_outbox_events(&OutboxQuery {
            user: Some(u.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        events.iter().map(|e| &e.event).collect::<Vec<_>>(),
        [&event]
    );
}

fn event_for(user: &UserId, kind: EventType, at: chrono::DateTime<chrono::Utc>) -> OutboxEvent {
    OutboxEvent {
        id: OutboxEvent::new_id(),
        event_type: kind,
        user_id: Some(user.clone()),
        occurred_at: at,
        payload: json!({"type": kind.as_str(), "user": {"id": user}}),
    }
}

both_engines!(outbox_events_and_deliveries);
async fn outbox_events_and_deliveries(store: Arc<dyn Store>) {
    let t0 = now();
    let (ana, bob) = (UserId::new("ana"), UserId::new("bob"));
    let destinations = ["email".to_owned(), "webhook:https://app/hook".to_owned()];
    let a1 = event_for(&ana, EventType::UserInvited, t0);
    let a2 = event_for(&ana, EventType::UserActivated, t0);
    let b1 = event_for(&bob, EventType::UserInvited, t0);
    let mut tx = store.begin().await.unwrap();
    for e in [&a1, &a2, &b1] {
        tx.enqueue_outbox_event(e, &destinations).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut read = store.read().await.unwrap();
    let stored = read.get_outbox_event(&a1.id).await.unwrap().unwrap();
    assert_eq!(stored.event, a1);
    let all = read
        .list_outbox_events(&OutboxQuery::default())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|e| &e.event.id).collect::<Vec<_>>(),
        [&a1.id, &a2.id, &b1.id]
    );
    let after_first = read
        .list_outbox_events(&OutboxQuery {
            after_seq: Some(all[0].seq),
            event_type: Some(EventType::UserInvited),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        after_first.iter().map(|e| &e.event).collect::<Vec<_>>(),
        [&b1]
    );
    let deliveries = read.list_deliveries(&a1.id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Pending && d.attempts == 0)
    );
    drop(read);

    // A claim takes each user's oldest event per destination, never a later one first.
    let lease = Duration::seconds(30);
    let mut tx = store.begin().await.unwrap();
    let claimed = tx.claim_deliveries(t0, lease, 10).await.unwrap();
    tx.commit().await.unwrap();
    let mut got: Vec<(String, String)> = claimed
        .iter()
        .map(|c| (c.event.event.id.clone(), c.delivery.destination.clone()))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [&a1.id, &b1.id]
        .iter()
        .flat_map(|id| {
            destinations
                .iter()
                .map(move |d| (id.to_string(), d.clone()))
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(claimed.iter().all(|c| c.delivery.attempts == 1));

    // Claimed rows are not handed out again while the lease runs.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.claim_deliveries(t0, lease, 10).await.unwrap().is_empty());
    // Finish a1: delivered by email, retried later by webhook; b1 dead on webhook.
    tx.mark_delivered(&a1.id, "email", t0).await.unwrap();
    tx.mark_retry(&a1.id, &destinations[1], t0 + Duration::minutes(1), "503")
        .await
        .unwrap();
    tx.mark_delivered(&b1.id, "email", t0).await.unwrap();
    tx.mark_dead(&b1.id, &destinations[1], "410 Gone")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Now a2 by email is due; a2 by webhook waits behind a1's retry.
    let mut tx = store.begin().await.unwrap();
    let claimed = tx.claim_deliveries(t0, lease, 10).await.unwrap();
    tx.commit().await.unwrap();
    let got: Vec<_> = claimed
        .iter()
        .map(|c| (c.event.event.id.clone(), c.delivery.destination.clone()))
        .collect();
    assert_eq!(got, [(a2.id.clone(), "email".to_owned())]);

    let mut read = store.read().await.unwrap();
    let a1_deliveries = read.list_deliveries(&a1.id).await.unwrap();
    assert_eq!(a1_deliveries[0].status, DeliveryStatus::Delivered);
    assert_eq!(a1_deliveries[0].delivered_at, Some(t0));
    assert_eq!(a1_deliveries[1].status, DeliveryStatus::Pending);
    assert_eq!(a1_deliveries[1].last_error.as_deref(), Some("503"));
    assert_eq!(a1_deliveries[1].claimed_until, None);
    let b1_deliveries = read.list_deliveries(&b1.id).await.unwrap();
    assert_eq!(b1_deliveries[1].status, DeliveryStatus::Dead);
}

both_engines!(concurrent_claims_never_share_a_delivery);
async fn concurrent_claims_never_share_a_delivery(store: Arc<dyn Store>) {
    let t0 = now();
    let mut tx = store.begin().await.unwrap();
    for i in 0..6 {
        let e = event_for(&UserId::new(format!("u{i}")), EventType::UserInvited, t0);
        tx.enqueue_outbox_event(&e, &["email".into()])
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let lease = Duration::seconds(30);
    // The first worker holds its claim open while a second one claims.
    let mut first = store.begin().await.unwrap();
    let mine = first.claim_deliveries(t0, lease, 3).await.unwrap();
    let other = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let theirs = tx.claim_deliveries(t0, lease, 10).await.unwrap();
            tx.commit().await.unwrap();
            theirs
        })
    };
    // PostgreSQL skips the locked rows at once; SQLite's second writer waits for this one.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    first.commit().await.unwrap();
    let theirs = other.await.unwrap();

    let ids = |c: &[idp_sync::store::ClaimedDelivery]| -> Vec<String> {
        c.iter().map(|c| c.event.event.id.clone()).collect()
    };
    let (mine, theirs) = (ids(&mine), ids(&theirs));
    assert_eq!(mine.len(), 3);
    assert_eq!(theirs.len(), 3, "{theirs:?}");
    assert!(mine.iter().all(|id| !theirs.contains(id)));
}

both_engines!(delivery_secret_lives_until_the_delivery_ends);
async fn delivery_secret_lives_until_the_delivery_ends(store: Arc<dyn Store>) {
    let t0 = now();
    let event = OutboxEvent {
        id: OutboxEvent::new_id(),
        event_type: EventType::UserInvited,
        user_id: Some(UserId::new("u-secret")),
        occurred_at: t0,
        payload: json!({}),
    };
    let secret = json!({"link": "https://idp/invitations/tok", "to": "a@b.c"});
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_outbox_event(&event, &["email".to_owned(), "webhook:app".to_owned()])
        .await
        .unwrap();
    tx.set_delivery_secret(&event.id, "email", &secret)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let lease = Duration::seconds(30);
    let claim = |at| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let claimed = tx.claim_deliveries(at, lease, 10).await.unwrap();
            tx.commit().await.unwrap();
            claimed
        }
    };
    let claimed = claim(t0).await;
    let email = claimed
        .iter()
        .find(|c| c.delivery.destination == "email")
        .unwrap();
    assert_eq!(email.secret.as_ref(), Some(&secret));
    assert_eq!(email.attempt_started_at, None);
    let hook = claimed
        .iter()
        .find(|c| c.delivery.destination == "webhook:app")
        .unwrap();
    assert_eq!(hook.secret, None, "only the email delivery has the link");

    // An attempt started and never recorded shows on the next claim after the lease.
    let mut tx = store.begin().await.unwrap();
    tx.mark_attempt_started(&event.id, "email", t0)
        .await
        .unwrap();
    tx.mark_delivered(&event.id, "webhook:app", t0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let again = claim(t0 + lease).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt_started_at, Some(t0));
    assert_eq!(again[0].secret.as_ref(), Some(&secret));

    // A recorded retry clears the marker and keeps the link.
    let mut tx = store.begin().await.unwrap();
    tx.mark_retry(&event.id, "email", t0 + lease, "SMTP down")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let third = claim(t0 + lease).await;
    assert_eq!(third[0].attempt_started_at, None);
    assert_eq!(third[0].secret.as_ref(), Some(&secret));

    // Dead erases it; revived, it comes back without it and with a fresh age.
    let mut tx = store.begin().await.unwrap();
    tx.mark_dead(&event.id, "email", "gave up").await.unwrap();
    assert!(
        !tx.revive_dead_delivery(&event.id, "webhook:app", t0)
            .await
            .unwrap()
    );
    let revived_at = t0 + Duration::hours(1);
    assert!(
        tx.revive_dead_delivery(&event.id, "email", revived_at)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let fourth = claim(revived_at).await;
    assert_eq!(fourth.len(), 1);
    assert_eq!(fourth[0].secret, None);
    assert_eq!(fourth[0].revived_at, Some(revived_at));
    assert_eq!(fourth[0].delivery.status, DeliveryStatus::Pending);
}
