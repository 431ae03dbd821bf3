//! Invitations, sessions and the SAML replay cache.

use super::{now, okta, user};
use crate::support::both_engines;
use chrono::Duration;
use idp_sync::domain::{Access, Invitation, InvitationStatus, RoleName, Session};
use idp_sync::store::{ConflictKind, Store, StoreError};
use std::sync::Arc;

fn invitation(
    user: &idp_sync::domain::User,
    id: &str,
    hash: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Invitation {
    let mut access = Access::new(RoleName::new("Editor"));
    access.organizations.insert("acme".into());
    Invitation {
        id: id.into(),
        user_id: user.id.clone(),
        token_hash: hash.into(),
        email: "ana@acme.com".into(),
        invited_by: "okta".into(),
        access,
        status: InvitationStatus::Pending,
        created_at: at,
        expires_at: at + Duration::days(14),
        renewed_from: None,
    }
}

both_engines!(invitations_round_trip);
async fn invitations_round_trip(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let t0 = now();
    let first = invitation(&u, "inv-1", "hash-1", t0);
    let mut second = invitation(&u, "inv-2", "hash-2", t0 + Duration::seconds(5));
    second.renewed_from = Some("inv-1".into());

    let mut tx = store.begin().await.unwrap();
    tx.create_invitation(&first).await.unwrap();
    tx.create_invitation(&second).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        store.find_invitation_by_token_hash("hash-1").await.unwrap(),
        Some(first.clone())
    );
    assert!(
        store
            .find_invitation_by_token_hash("nope")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_invitations(&u.id).await.unwrap(),
        vec![second.clone(), first.clone()]
    );

    let mut tx = store.begin().await.unwrap();
    tx.set_invitation_status("inv-1", InvitationStatus::Expired)
        .await
        .unwrap();
    assert!(matches!(
        tx.set_invitation_status("inv-x", InvitationStatus::Revoked)
            .await,
        Err(StoreError::NotFound)
    ));
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.set_invitation_status("inv-1", InvitationStatus::Expired)
        .await
        .unwrap();
    assert_eq!(tx.revoke_pending_invitations(&u.id).await.unwrap(), 1);
    assert_eq!(
        tx.get_invitation("inv-2").await.unwrap().map(|i| i.status),
        Some(InvitationStatus::Revoked)
    );
    tx.commit().await.unwrap();
    assert_eq!(
        store
            .find_invitation_by_token_hash("hash-1")
            .await
            .unwrap()
            .map(|i| i.status),
        Some(InvitationStatus::Expired)
    );

    // Token hashes and ids are unique.
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .create_invitation(&invitation(&u, "inv-3", "hash-1", t0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(ConflictKind::InvitationTokenTaken)
        ),
        "{err:?}"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .create_invitation(&invitation(&u, "inv-1", "hash-9", t0))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ConflictKind::InvitationIdTaken)),
        "{err:?}"
    );
    drop(tx);

    // Invitations go with their user.
    store.delete_user(&u.id).await.unwrap();
    assert!(
        store
            .find_invitation_by_token_hash("hash-2")
            .await
            .unwrap()
            .is_none()
    );
}

both_engines!(sessions_round_trip);
async fn sessions_round_trip(store: Arc<dyn Store>) {
    let u = user("ana@acme.com");
    store.create_user(&u).await.unwrap();
    let t0 = now();
    let session = |hash: &str| Session {
        id_hash: hash.into(),
        user_id: u.id.clone(),
        connection: okta(),
        created_at: t0,
        last_seen_at: t0,
        expires_at: t0 + Duration::hours(8),
        revoked_at: None,
    };
    store.create_session(&session("s1")).await.unwrap();
    store.create_session(&session("s2")).await.unwrap();
    assert!(matches!(
        store.create_session(&session("s1")).await,
        Err(StoreError::Conflict(ConflictKind::SessionTaken))
    ));
    assert_eq!(store.get_session("s1").await.unwrap(), Some(session("s1")));

    let t1 = t0 + Duration::minutes(1);
    assert!(store.touch_session("s1", t1).await.unwrap());
    assert!(!store.touch_session("nope", t1).await.unwrap());
    assert_eq!(
        store.get_session("s1").await.unwrap().unwrap().last_seen_at,
        t1
    );

    let mut tx = store.begin().await.unwrap();
    assert!(tx.revoke_session("s2", t1).await.unwrap());
    assert!(!tx.revoke_session("s2", t1).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.revoke_sessions_of(&u.id, t1).await.unwrap(), 1);
    assert_eq!(
        store.get_session("s1").await.unwrap().unwrap().revoked_at,
        Some(t1)
    );
    assert!(!store.touch_session("s1", t1).await.unwrap());

    store.delete_user(&u.id).await.unwrap();
    assert!(store.get_session("s1").await.unwrap().is_none());
}

both_engines!(saml_replay_cache);
async fn saml_replay_cache(store: Arc<dyn Store>) {
    let t0 = now();
    let later = t0 + Duration::minutes(5);
    assert!(store.remember_assertion("_a1", later, t0).await.unwrap());
    assert!(!store.remember_assertion("_a1", later, t0).await.unwrap());
    assert!(store.remember_assertion("_a2", later, t0).await.unwrap());
    // Once expired, the id is forgotten.
    let after = later + Duration::seconds(1);
    assert!(
        store
            .remember_assertion("_a1", after + Duration::minutes(5), after)
            .await
            .unwrap()
    );
}
