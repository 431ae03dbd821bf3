//! The lifecycle end to end, on both engines, through SCIM with the real delivery worker and
//! a real SMTP server: first access invites (the email carries a working link), leaving the
//! group suspends and revokes the invitation, regaining access before accepting re-invites,
//! after accepting re-activates without a new invitation, a role change is
//! `user.access_changed`, and a SCIM DELETE is `user.removed`.

use crate::outbox::{fast_options, start_worker};
use crate::support::app::{OKTA_TOKEN, TestApp};
use crate::support::smtp::SmtpServer;
use idp_sync::domain::{EventType, InvitationStatus, UserId, UserState};
use idp_sync::reconcile::lifecycle::token_hash;
use idp_sync::store::{Engine, OutboxQuery};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn patch(op: &str, user: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": op, "path": "members", "value": [{ "value": user }] }]
    })
}

/// Adds `user` to or removes them from `group` and checks the request succeeded.
async fn membership(app: &TestApp, group: &str, op: &str, user: &str) {
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some(patch(op, user)),
        )
        .await;
    assert!(
        status == 200 || status == 204,
        "{op} {user} in {group}: {status} {body}"
    );
}

/// The user as stored.
async fn stored_user(app: &TestApp, id: &UserId) -> idp_sync::domain::User {
    app.db
        .store
        .get_user(id)
        .await
        .expect("read")
        .expect("user")
}

async fn events(app: &TestApp, user: &str) -> Vec<EventType> {
    app.db
        .store
        .list_outbox_events(&OutboxQuery {
            user: Some(UserId::from(user)),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event.event_type)
        .collect()
}

async fn wait_for_mail(smtp: &SmtpServer, count: usize) {
    for _ in 0..100 {
        if smtp.count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} emails, got {}", smtp.count());
}

async fn lifecycle(engine: Engine) {
    let smtp = SmtpServer::start(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let extra = format!(
        "[email]\nsmtp_url = \"smtp://{}?tls=none\"\nfrom = \"Acme Access <access@example.com>\"\n\
         application_name = \"Acme Docs\"\n\
         [[mappings]]\nconnection = \"okta\"\nidp_group = \"Support\"\nrole = \"Manager\"\norganizations = [\"globex\"]\n",
        smtp.addr
    );
    let app = TestApp::spawn(engine, &extra).await;
    let worker = start_worker(app.db.store.clone(), &app.config, fast_options());
    let t = OKTA_TOKEN;

    let (status, user) = app
        .scim_json(
            t,
            Method::POST,
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ana@acme.com",
                "name": { "givenName": "Ana", "familyName": "Lima" },
                "emails": [{ "value": "ana@acme.com", "type": "work", "primary": true }]
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let uid = user["id"].as_str().expect("id").to_owned();
    let id = UserId::from(uid.as_str());
    let mut groups = Vec::new();
    for name in ["Engineering", "Support"] {
        let (status, g) = app
            .scim_json(t, Method::POST, "/Groups", Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": [] })))
            .await;
        assert_eq!(status, 201);
        groups.push(g["id"].as_str().expect("id").to_owned());
    }
    let (eng, support) = (&groups[0], &groups[1]);

    // First access: invited, with an email whose link opens this invitation.
    membership(&app, eng, "add", &uid).await;
    let stored = stored_user(&app, &id).await;
    assert_eq!(stored.state, UserState::Invited);
    let invitations = app
        .db
        .store
        .list_invitations(&id)
        .await
        .expect("invitations");
    assert_eq!(invitations.len(), 1);
    let first = invitations[0].clone();
    assert_eq!(first.status, InvitationStatus::Pending);
    assert_eq!(first.email, "ana@acme.com");
    assert_eq!(events(&app, &uid).await, [EventType::UserInvited]);
    wait_for_mail(&smtp, 1).await;
    let mail = smtp.messages.lock().expect("lock")[0].clone();
    assert_eq!(mail.to.len(), 1);
    assert!(mail.to[0].contains("<ana@acme.com>"), "{:?}", mail.to);
    let prefix = format!("{}/invitations/", app.base);
    let at = mail
        .data
        .find(&prefix)
        .unwrap_or_else(|| panic!("no link in:\n{}", mail.data));
    let token: String = mail.data[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 43, "{}", mail.data);
    assert_eq!(
        token_hash(&token),
        first.token_hash,
        "the link's token is the invitation's"
    );
    assert!(
        mail.data
            .contains(&format!("<invitation-{}@127.0.0.1>", first.id)),
        "{}",
        mail.data
    );

    // Leaving the group before accepting: suspended, invitation revoked.
    membership(&app, eng, "remove", &uid).await;
    let stored = stored_user(&app, &id).await;
    assert_eq!(stored.state, UserState::Suspended);
    let invitations = app
        .db
        .store
        .list_invitations(&id)
        .await
        .expect("invitations");
    assert_eq!(invitations[0].status, InvitationStatus::Revoked);

    // Back before ever accepting: a new invitation and a second email.
    membership(&app, eng, "add", &uid).await;
    let invitations = app
        .db
        .store
        .list_invitations(&id)
        .await
        .expect("invitations");
    assert_eq!(invitations.len(), 2);
    assert!(
        invitations
            .iter()
            .any(|i| i.status == InvitationStatus::Pending && i.id != first.id)
    );
    wait_for_mail(&smtp, 2).await;

    // A role change (the Support mapping grants Manager on globex).
    membership(&app, support, "add", &uid).await;

    // Accepted (as a sign-in will do), then out and back: re-activated, no new invitation.
    {
        let mut u = stored_user(&app, &id).await;
        let version = u.version;
        u.accepted_at = Some(chrono::Utc::now());
        u.state = UserState::Active;
        app.db.store.update_user(&u, version).await.expect("accept");
    }
    for group in [eng, support] {
        membership(&app, group, "remove", &uid).await;
    }
    membership(&app, eng, "add", &uid).await;
    let stored = stored_user(&app, &id).await;
    assert_eq!(stored.state, UserState::Active);
    assert_eq!(
        app.db
            .store
            .list_invitations(&id)
            .await
            .expect("invitations")
            .len(),
        2
    );

    // Deleted by the IdP: removed.
    let (status, _) = app
        .scim_json(t, Method::DELETE, &format!("/Users/{uid}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        events(&app, &uid).await,
        [
            EventType::UserInvited,
            EventType::UserSuspended,
            EventType::UserInvited,
            EventType::UserAccessChanged,
            EventType::UserAccessChanged,
            EventType::UserSuspended,
            EventType::UserActivated,
            EventType::UserRemoved,
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        smtp.count(),
        2,
        "one email per invitation, none for the other events"
    );
    worker.stop().await;
}

#[tokio::test]
async fn lifecycle_sqlite() {
    lifecycle(Engine::Sqlite).await;
}

#[tokio::test]
async fn lifecycle_postgres() {
    lifecycle(Engine::Postgres).await;
}

async fn conflicts_are_told_once(engine: Engine) {
    let extra = "[[organizations]]\nslug = \"o4\"\nname = \"O4\"\n[[organizations]]\nslug = \"o5\"\nname = \"O5\"\n\
                 [[organizations]]\nslug = \"o6\"\nname = \"O6\"\n\
                 [[mappings]]\nconnection = \"okta\"\nidp_group = \"Clients\"\nrole = \"Lite\"\n\
                 organizations = [\"acme\", \"acme-east\", \"globex\", \"o4\", \"o5\", \"o6\"]\n";
    let app = TestApp::spawn(engine, extra).await;
    let t = OKTA_TOKEN;
    let body = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "lite@acme.com" });
    let (status, user) = app
        .scim_json(t, Method::POST, "/Users", Some(body.clone()))
        .await;
    assert_eq!(status, 201);
    let uid = user["id"].as_str().expect("id").to_owned();
    let id = UserId::from(uid.as_str());
    let (status, group) = app
        .scim_json(t, Method::POST, "/Groups", Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Clients", "members": [{ "value": uid }] })))
        .await;
    assert_eq!(status, 201);

    // Six organizations for a Lite user: a conflict, not an invitation.
    let stored = stored_user(&app, &id).await;
    assert!(stored.conflict.is_some());
    assert_eq!(stored.state, UserState::Provisioned);
    assert!(
        app.db
            .store
            .list_invitations(&id)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(events(&app, &uid).await, [EventType::AccessConflict]);
    let conflict = app
        .db
        .store
        .list_outbox_events(&OutboxQuery {
            user: Some(id.clone()),
            ..Default::default()
        })
        .await
        .expect("events")[0]
        .event
        .payload
        .clone();
    assert_eq!(
        conflict["conflict"],
        json!({ "kind": "max_organizations", "limit": 5, "count": 6 })
    );
    assert_eq!(conflict["access"]["role"], "Lite");

    // Recomputed again (a profile update): the same conflict is not told twice.
    let mut again = body.clone();
    again["displayName"] = json!("Lite User");
    let (status, _) = app
        .scim_json(t, Method::PUT, &format!("/Users/{uid}"), Some(again))
        .await;
    assert_eq!(status, 200);
    assert_eq!(events(&app, &uid).await, [EventType::AccessConflict]);

    // Leaving the group resolves it.
    let gid = group["id"].as_str().expect("id").to_owned();
    membership(&app, &gid, "remove", &uid).await;
    let stored = stored_user(&app, &id).await;
    assert!(stored.conflict.is_none());
    let audit = app
        .db
        .store
        .list_audit(&idp_sync::store::AuditQuery {
            user: Some(id.clone()),
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        audit.iter().filter(|e| e.kind == "access.conflict").count(),
        1
    );
    assert!(audit.iter().any(|e| e.kind == "access.conflict_resolved"));
}

#[tokio::test]
async fn conflicts_are_told_once_sqlite() {
    conflicts_are_told_once(Engine::Sqlite).await;
}

#[tokio::test]
async fn conflicts_are_told_once_postgres() {
    conflicts_are_told_once(Engine::Postgres).await;
}
