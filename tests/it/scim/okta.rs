//! Okta's SCIM 2.0 provisioning sequence: existence check by filter, create, PUT of the
//! whole user for every update, deactivation with `active: false` (never DELETE), and Group
//! Push (rename by path-less replace carrying the group id, member add/remove, full replace).

use super::{id_of, members, organizations};
use crate::support::app::{OKTA_TOKEN, TestApp, both_engines_app};
use idp_sync::domain::UserId;
use reqwest::Method;
use serde_json::json;

fn okta_user(user_name: &str, given: &str, active: bool) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": { "givenName": given, "familyName": "Lima" },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": format!("{given} Lima"),
        "locale": "en-US",
        "externalId": "00u1abcdEFGH",
        "groups": [],
        "password": "s3cr3t-Pa55",
        "active": active
    })
}

async fn okta_sequence(app: TestApp) {
    let t = OKTA_TOKEN;
    // Existence check before create.
    let (status, list) = app
        .scim_json(
            t,
            Method::GET,
            "/Users?filter=userName%20eq%20%22ana%40acme.com%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 0);
    assert_eq!(list["Resources"], json!([]));

    let (status, created) = app
        .scim_json(
            t,
            Method::POST,
            "/Users",
            Some(okta_user("ana@acme.com", "Ana", true)),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let uid = id_of(&created);
    assert!(
        created.get("password").is_none(),
        "password is never returned"
    );
    assert_eq!(created["meta"]["resourceType"], "User");

    // The same check now finds her, case-insensitively.
    let (_, list) = app
        .scim_json(
            t,
            Method::GET,
            "/Users?filter=userName%20eq%20%22Ana%40Acme.com%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(list["totalResults"], 1, "{list}");

    // A profile update is a PUT of the whole user.
    let (status, updated) = app
        .scim_json(
            t,
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(okta_user("ana@acme.com", "Anna", true)),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let stored = app
        .db
        .store
        .get_user(&UserId::from(uid.as_str()))
        .await
        .expect("read")
        .expect("user");
    assert_eq!(stored.given_name.as_deref(), Some("Anna"));
    assert_eq!(stored.display_name.as_deref(), Some("Anna Lima"));
    assert!(
        stored.scim.get("password").is_none(),
        "password is never stored"
    );

    // Group Push: create, rename with the group id in the value, add and remove members.
    let (status, group) = app
        .scim_json(
            t,
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Eng",
                "members": []
            })),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = id_of(&group);
    let (status, body) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    { "op": "replace", "value": { "id": gid, "displayName": "Engineering" } },
                    { "op": "add", "path": "members", "value": [{ "value": uid, "display": "ana@acme.com" }] }
                ]
            })),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    assert_eq!(members(&app, &gid).await, vec![uid.clone()]);
    // Renamed into the mapped group: access follows.
    assert_eq!(organizations(&app, &uid).await, ["acme", "acme-east"]);

    // Deactivation is a PUT with active=false: access goes, the record stays.
    let (status, _) = app
        .scim_json(
            t,
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(okta_user("ana@acme.com", "Anna", false)),
        )
        .await;
    assert_eq!(status, 200);
    assert!(organizations(&app, &uid).await.is_empty());
    let (status, got) = app
        .scim_json(t, Method::GET, &format!("/Users/{uid}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["active"], false);

    // Reactivation restores access from the memberships.
    let (status, _) = app
        .scim_json(
            t,
            Method::PUT,
            &format!("/Users/{uid}"),
            Some(okta_user("ana@acme.com", "Anna", true)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(organizations(&app, &uid).await, ["acme", "acme-east"]);

    // Member removal by filter, then a full replace of the member list.
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "remove", "path": format!("members[value eq \"{uid}\"]") }]
            })),
        )
        .await;
    assert!(status == 200 || status == 204);
    assert!(members(&app, &gid).await.is_empty());
    assert!(
        organizations(&app, &uid).await.is_empty(),
        "leaving the group removes access"
    );

    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "members", "value": [{ "value": uid }] }]
            })),
        )
        .await;
    assert!(status == 200 || status == 204);
    assert_eq!(members(&app, &gid).await, vec![uid.clone()]);

    // Group delete takes the memberships (and the access they gave) with it.
    let (status, _) = app
        .scim_json(t, Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(organizations(&app, &uid).await.is_empty());
    let (status, err) = app
        .scim_json(t, Method::GET, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["status"], "404");
}
both_engines_app!(okta_sequence);
