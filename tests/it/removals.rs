//! Removals that wait, on both engines, through SCIM and the admin API: a SCIM request
//! that would remove too many users is stored but its removals are held; approving
//! re-checks and applies them through the lifecycle, rejecting keeps access; and
//! `removal.grace` delays a loss of access, which a user who comes back never suffers.

use crate::support::app::{ADMIN_TOKEN, MANAGER_TOKEN, OKTA_TOKEN, TestApp, both_engines_app};
use chrono::Utc;
use idp_sync::domain::{EventType, UserId};
use idp_sync::reconcile::removals;
use idp_sync::store::OutboxQuery;
use reqwest::Method;
use serde_json::{Value, json};

pub async fn create_users(app: &TestApp, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        let (status, body) = app
            .scim_json(
                OKTA_TOKEN,
                Method::POST,
                "/Users",
                Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    ids
}

pub async fn create_group(app: &TestApp, name: &str, members: &[String]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({ "value": m })).collect();
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn user(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.admin_get(ADMIN_TOKEN, &format!("/users/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn events_of(app: &TestApp, id: &str, event_type: EventType) -> usize {
    payloads_of(app, id, event_type).await.len()
}

/// The bodies of the user's outbox events of one type.
async fn payloads_of(app: &TestApp, id: &str, event_type: EventType) -> Vec<Value> {
    app.db
        .store
        .list_outbox_events(&OutboxQuery {
            user: Some(UserId::from(id)),
            event_type: Some(event_type),
            ..OutboxQuery::default()
        })
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| e.event.payload)
        .collect()
}

fn ids_of(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

async fn scim_mass_removal_is_held_until_decided(app: TestApp) {
    let users = create_users(
        &app,
        &[
            "u0@acme.com",
            "u1@acme.com",
            "u2@acme.com",
            "u3@acme.com",
            "u4@acme.com",
        ],
    )
    .await;
    let group = create_group(&app, "Engineering", &users).await;
    assert_eq!(user(&app, &users[0]).await["access"]["role"], "Editor");

    // Deleting the group would take access from all five: the IdP's change is stored
    // (the group is gone), the removals wait.
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::DELETE,
            &format!("/Groups/{group}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::GET, &format!("/Groups/{group}"), None)
        .await;
    assert_eq!(status, 404);
    for id in &users {
        let u = user(&app, id).await;
        assert_eq!(u["access"]["role"], "Editor", "{u}");
        assert_eq!(u["state"], "invited");
        assert_eq!(events_of(&app, id, EventType::UserSuspended).await, 0);
    }
    let (status, listed) = app.admin_get(ADMIN_TOKEN, "/removals").await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 5, "{listed}");
    assert!(
        items
            .iter()
            .all(|r| r["kind"] == "mass" && r["status"] == "pending")
    );
    assert_eq!(items[0]["previous"]["role"], "Editor");
    assert_eq!(items[0]["reason"], "no_matching_mapping");
    let removal_of = |user_id: &str| -> String {
        items
            .iter()
            .find(|r| r["user_id"] == user_id)
            .and_then(|r| r["id"].as_str())
            .expect("removal of user")
            .to_owned()
    };
    let (r0, r1) = (removal_of(&users[0]), removal_of(&users[1]));
    let (_, audit) = app
        .admin_get(ADMIN_TOKEN, "/audit?type=removals.held")
        .await;
    assert_eq!(
        audit["items"].as_array().expect("items").len(),
        1,
        "{audit}"
    );
    assert_eq!(audit["items"][0]["detail"]["removals"], 5);

    // Only an Administrator token decides; a decision must say what it decides.
    let (status, body) = app
        .admin_post(MANAGER_TOKEN, "/removals/approve", json!({ "all": true }))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    let (status, body) = app
        .admin_post(ADMIN_TOKEN, "/removals/approve", json!({}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-NOTHING-SELECTED");
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            "/removals/approve",
            json!({ "everything": true }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-BODY");

    // Rejected: u0 keeps access.
    let (status, body) = app
        .admin_post(ADMIN_TOKEN, "/removals/reject", json!({ "ids": [r0] }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids_of(&body["rejected"]), vec![r0.clone()]);
    assert_eq!(user(&app, &users[0]).await["access"]["role"], "Editor");

    // u1 comes back before the decision: no longer a removal when approved.
    create_group(&app, "Engineering", &users[1..2]).await;

    // The IdP's routine PUT of u2 does not get around the hold…
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PUT,
            &format!("/Users/{}", users[2]),
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u2@acme.com" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(user(&app, &users[2]).await["access"]["role"], "Editor");
    let (_, mine) = app
        .admin_get(ADMIN_TOKEN, &format!("/removals?user={}", users[2]))
        .await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1, "{mine}");
    // …but deactivating u3 in the IdP offboards them at once.
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{}", users[3]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "value": { "active": false } }],
            })),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(user(&app, &users[3]).await["state"], "suspended");
    let (_, superseded) = app
        .admin_get(ADMIN_TOKEN, "/removals?status=superseded")
        .await;
    assert_eq!(
        superseded["items"][0]["user_id"],
        users[3].as_str(),
        "{superseded}"
    );

    let (status, body) = app
        .admin_post(ADMIN_TOKEN, "/removals/approve", json!({ "all": true }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["applied"].as_array().expect("applied").len(),
        2,
        "{body}"
    );
    assert_eq!(ids_of(&body["obsolete"]), vec![r1.clone()]);
    assert!(body["reload"].is_null());
    for id in &users[2..] {
        let u = user(&app, id).await;
        assert!(u["access"].is_null(), "{u}");
        assert_eq!(u["state"], "suspended");
        let suspended = payloads_of(&app, id, EventType::UserSuspended).await;
        assert_eq!(suspended.len(), 1);
        let by = if id == &users[3] { "scim" } else { "admin" };
        assert_eq!(suspended[0]["cause"]["kind"], by);
    }
    for id in &users[..2] {
        assert_eq!(user(&app, id).await["access"]["role"], "Editor");
        assert_eq!(events_of(&app, id, EventType::UserSuspended).await, 0);
    }

    // Decided removals are not decided twice; the history stays listable.
    let (_, body) = app
        .admin_post(
            ADMIN_TOKEN,
            "/removals/approve",
            json!({ "ids": [r0, "nope"] }),
        )
        .await;
    assert_eq!(
        body["not_pending"].as_array().expect("list").len(),
        2,
        "{body}"
    );
    let (_, approved) = app
        .admin_get(ADMIN_TOKEN, "/removals?status=approved")
        .await;
    assert_eq!(approved["items"].as_array().expect("items").len(), 2);
    let (_, pending) = app.admin_get(ADMIN_TOKEN, "/removals").await;
    assert!(pending["items"].as_array().expect("items").is_empty());
    let (status, body) = app.admin_get(ADMIN_TOKEN, "/removals?status=bogus").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-STATUS");
    let (_, audit) = app
        .admin_get(ADMIN_TOKEN, "/audit?type=removal.approved")
        .await;
    assert_eq!(audit["items"].as_array().expect("items").len(), 2);
    let (_, audit) = app
        .admin_get(ADMIN_TOKEN, "/audit?type=removal.rejected")
        .await;
    assert_eq!(audit["items"][0]["actor"], "admin:ops");

    // Under the threshold, a removal applies at once.
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::DELETE,
            &format!("/Users/{}", users[1]),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(events_of(&app, &users[1], EventType::UserRemoved).await, 1);
}
both_engines_app!(
    scim_mass_removal_is_held_until_decided,
    "[removal]\nmass_threshold = 0.2\nmass_minimum = 3\n"
);

async fn grace_delays_a_removal_and_forgives_a_return(app: TestApp) {
    let users = create_users(&app, &["a@acme.com", "b@acme.com", "c@acme.com"]).await;
    let group = create_group(&app, "Engineering", &users).await;
    let patch = |op: &str, member: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": op, "path": "members", "value": [{ "value": member }] }],
        })
    };

    // Deactivation is an offboarding decision: at once, whatever the grace.
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{}", users[2]),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "value": { "active": false } }],
            })),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(user(&app, &users[2]).await["state"], "suspended");

    // Leaving the group waits out the grace; b comes back within it.
    for member in &users[..2] {
        let (status, _) = app
            .scim_json(
                OKTA_TOKEN,
                Method::PATCH,
                &format!("/Groups/{group}"),
                Some(patch("remove", member)),
            )
            .await;
        assert_eq!(status, 204);
    }
    let (_, listed) = app.admin_get(ADMIN_TOKEN, "/removals").await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{listed}");
    assert!(
        items
            .iter()
            .all(|r| r["kind"] == "grace" && !r["due_at"].is_null())
    );
    assert_eq!(user(&app, &users[0]).await["access"]["role"], "Editor");
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Groups/{group}"),
            Some(patch("add", &users[1])),
        )
        .await;
    assert_eq!(status, 204);

    let config = app.config.current();
    let store = app.db.store.as_ref();
    let (early, _) = removals::apply_due(store, &config, Utc::now())
        .await
        .expect("due");
    assert!(early.applied.is_empty() && early.obsolete.is_empty());
    let later = Utc::now() + chrono::Duration::hours(2);
    let (due, events) = removals::apply_due(store, &config, later)
        .await
        .expect("due");
    assert_eq!(due.applied.len(), 1, "{due:?}");
    assert_eq!(due.obsolete.len(), 1, "{due:?}");
    assert_eq!(events, 1);
    assert_eq!(user(&app, &users[0]).await["state"], "suspended");
    assert_eq!(
        events_of(&app, &users[0], EventType::UserSuspended).await,
        1
    );
    assert_eq!(user(&app, &users[1]).await["access"]["role"], "Editor");
    assert_eq!(
        events_of(&app, &users[1], EventType::UserSuspended).await,
        0
    );
    let (_, audit) = app
        .admin_get(ADMIN_TOKEN, "/audit?type=removal.approved")
        .await;
    assert_eq!(audit["items"][0]["actor"], "grace");
}
both_engines_app!(
    grace_delays_a_removal_and_forgives_a_return,
    "[removal]\ngrace = \"1h\"\n"
);
