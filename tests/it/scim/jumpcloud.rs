//! JumpCloud pushes whole groups with PUT: the member list in the body is the new truth.

use super::{id_of, members, organizations};
use crate::support::app::{OKTA_TOKEN, TestApp, both_engines_app};
use reqwest::Method;
use serde_json::json;

async fn jumpcloud_full_group_put(app: TestApp) {
    let t = OKTA_TOKEN;
    let mut users = Vec::new();
    for name in ["eve", "fay", "gus"] {
        let (status, body) = app
            .scim_json(
                t,
                Method::POST,
                "/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("{name}@acme.com"),
                    "name": { "givenName": name, "familyName": "Jones" },
                    "emails": [{ "value": format!("{name}@acme.com"), "type": "work", "primary": true }],
                    "active": true
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        users.push(id_of(&body));
    }
    let group_body = |member_ids: &[&String]| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": member_ids.iter().map(|id| json!({ "value": id, "display": "x" })).collect::<Vec<_>>()
        })
    };
    let (status, group) = app
        .scim_json(
            t,
            Method::POST,
            "/Groups",
            Some(group_body(&[&users[0], &users[1]])),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = id_of(&group);
    assert_eq!(organizations(&app, &users[0]).await, ["acme", "acme-east"]);

    // The next sync: fay leaves, gus joins.
    let (status, body) = app
        .scim_json(
            t,
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(group_body(&[&users[0], &users[2]])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut expected = vec![users[0].clone(), users[2].clone()];
    expected.sort();
    assert_eq!(members(&app, &gid).await, expected);
    assert!(organizations(&app, &users[1]).await.is_empty());
    assert_eq!(organizations(&app, &users[2]).await, ["acme", "acme-east"]);

    // The same PUT again changes nothing.
    let (status, again) = app
        .scim_json(
            t,
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(group_body(&[&users[0], &users[2]])),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        again["meta"]["version"], body["meta"]["version"],
        "an identical PUT is not a change"
    );

    // Deleting a member changes the group (its member list), so its version moves.
    let (status, _) = app
        .scim_json(t, Method::DELETE, &format!("/Users/{}", users[0]), None)
        .await;
    assert_eq!(status, 204);
    let (_, after) = app
        .scim_json(t, Method::GET, &format!("/Groups/{gid}"), None)
        .await;
    assert_ne!(after["meta"]["version"], body["meta"]["version"]);
    assert_eq!(members(&app, &gid).await, vec![users[2].clone()]);
}
both_engines_app!(jumpcloud_full_group_put);
