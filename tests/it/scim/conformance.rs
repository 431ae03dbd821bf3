//! Regressions for what the scim2-tester suite (`tests/scim2_tester/`, run by
//! `crate::scim2_tester`) found, over HTTP on both engines: each test names the RFC rule.

use super::id_of;
use crate::support::app::{OKTA_TOKEN, TestApp, both_engines_app};
use idp_sync::domain::UserId;
use reqwest::Method;
use serde_json::{Value, json};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn patch(operations: Value) -> Option<Value> {
    Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    }))
}

async fn create_user(app: &TestApp, body: Value) -> String {
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Users", Some(body))
        .await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

/// RFC 7644 §3.10: a PATCH path may be an extension's URN, naming all of its attributes.
async fn patch_path_is_an_extension_urn(app: TestApp) {
    let uid = create_user(
        &app,
        json!({"schemas": [CORE_USER], "userName": "ext@acme.com"}),
    )
    .await;
    let path = format!("/Users/{uid}");
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &path,
            patch(json!([{"op": "add", "path": ENTERPRISE, "value": {
                "schemas": [ENTERPRISE],
                "costCenter": "4130",
                "manager": {"value": "26118915"}
            }}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body[ENTERPRISE],
        json!({"costCenter": "4130", "manager": {"value": "26118915"}})
    );
    assert_eq!(body["schemas"], json!([CORE_USER, ENTERPRISE]));
    let (_, got) = app.scim_json(OKTA_TOKEN, Method::GET, &path, None).await;
    assert_eq!(got[ENTERPRISE], body[ENTERPRISE]);

    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &path,
            patch(json!([{"op": "remove", "path": ENTERPRISE}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get(ENTERPRISE).is_none(), "{body}");
    assert_eq!(body["schemas"], json!([CORE_USER]));
}
both_engines_app!(patch_path_is_an_extension_urn);

/// RFC 7644 §3.5.2.2: a removed single-valued attribute is unassigned, so not returned.
/// For idp-sync an unassigned `active` means active, as on a create without it.
async fn removing_active_unassigns_it(app: TestApp) {
    let uid = create_user(
        &app,
        json!({"schemas": [CORE_USER], "userName": "ana@acme.com", "active": false}),
    )
    .await;
    let path = format!("/Users/{uid}");
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &path,
            patch(json!([{"op": "remove", "path": "active"}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("active").is_none(), "{body}");
    let (_, got) = app.scim_json(OKTA_TOKEN, Method::GET, &path, None).await;
    assert!(got.get("active").is_none(), "{got}");
    let stored = app
        .db
        .store
        .get_user(&UserId::from(uid.as_str()))
        .await
        .expect("read")
        .expect("user");
    assert!(stored.active);

    // Assigned again, it is returned; false always is.
    let (_, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &path,
            patch(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(body["active"], false, "{body}");
}
both_engines_app!(removing_active_unassigns_it);

/// RFC 7643 §2.5: an unassigned attribute is not `""`. `members.display` is read-only here
/// (memberships are stored as ids), so what an IdP sends there is ignored (RFC 7644 §3.3),
/// and a member without a value is still refused.
async fn group_members_have_no_empty_display(app: TestApp) {
    let uid = create_user(
        &app,
        json!({"schemas": [CORE_USER], "userName": "bo@acme.com"}),
    )
    .await;
    let member = json!({"value": uid, "display": "Bo Chen"});
    let (status, group) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [member]
            })),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let expected = json!([{
        "value": uid,
        "$ref": format!("{}/scim/v2/Users/{uid}", app.base),
        "type": "User"
    }]);
    assert_eq!(group["members"], expected);
    let gid = id_of(&group);
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Groups/{gid}?attributes=members"),
            patch(json!([{"op": "add", "path": "members", "value": [member]}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["members"], expected);

    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PUT,
            &format!("/Groups/{gid}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"display": "Bo Chen"}]
            })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidValue", "{body}");

    let (_, schema) = app
        .scim_json(
            OKTA_TOKEN,
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    let members = schema["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "members"))
        .expect("members");
    let display = members["subAttributes"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "display"))
        .expect("display");
    assert_eq!(display["mutability"], "readOnly");
}
both_engines_app!(group_members_have_no_empty_display);
