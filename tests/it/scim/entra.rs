//! Microsoft Entra ID's SCIM sequence: Test Connection (a filter on a random GUID → empty
//! list), create with the enterprise extension, capitalised PATCH ops, `"False"` string
//! booleans, path-less replace with dotted and URN keys, groups created empty and filled by
//! PATCH, and both member-removal shapes (the `path: members` + value list shape removes
//! only the listed members).

use super::{id_of, members, organizations};
use crate::support::app::{ENTRA_TOKEN, TestApp, both_engines_app};
use idp_sync::domain::UserId;
use reqwest::Method;
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn entra_user(user_name: &str, object_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": object_id,
        "userName": user_name,
        "active": true,
        "displayName": "Bea Souza",
        "emails": [{ "primary": true, "type": "work", "value": user_name }],
        "name": { "formatted": "Bea Souza", "familyName": "Souza", "givenName": "Bea" },
        "title": "Engineer",
        ENTERPRISE: { "department": "R&D", "employeeNumber": "1042" }
    })
}

fn patch(ops: Value) -> Value {
    json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops })
}

async fn create(app: &TestApp, name: &str, object_id: &str) -> String {
    let (status, body) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::POST,
            "/Users",
            Some(entra_user(name, object_id)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

async fn entra_sequence(app: TestApp) {
    let t = ENTRA_TOKEN;
    // Test Connection.
    let (status, list) = app
        .scim_json(
            t,
            Method::GET,
            "/Users?filter=userName+eq+%227c5b2f4e-3d9a-4b1e-9f6a-0a1b2c3d4e5f%22",
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["totalResults"], 0);

    let bea = create(&app, "bea@acme.com", "f1e2d3c4-0000-4000-8000-000000000001").await;
    let cai = create(&app, "cai@acme.com", "f1e2d3c4-0000-4000-8000-000000000002").await;
    let dan = create(&app, "dan@acme.com", "f1e2d3c4-0000-4000-8000-000000000003").await;

    // Path-less replace with dotted and URN keys and a string boolean.
    let (status, body) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Users/{bea}"),
            Some(patch(json!([{
                "op": "Replace",
                "value": {
                    "name.givenName": "Beatriz",
                    "name.familyName": "Souza",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Platform",
                    "active": "True"
                }
            }]))),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"]["givenName"], "Beatriz");
    assert_eq!(body[ENTERPRISE]["department"], "Platform");
    assert_eq!(body["active"], true);
    let stored = app
        .db
        .store
        .get_user(&UserId::from(bea.as_str()))
        .await
        .expect("read")
        .expect("user");
    assert_eq!(stored.given_name.as_deref(), Some("Beatriz"));

    // Group created empty, filled by PATCH (capitalised op).
    let (status, group) = app
        .scim_json(
            t,
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Engineering",
                "members": []
            })),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = id_of(&group);
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(json!([{
                "op": "Add",
                "path": "members",
                "value": [{ "value": bea }, { "value": cai }, { "value": dan }]
            }]))),
        )
        .await;
    assert!(status == 200 || status == 204);
    let mut all = vec![bea.clone(), cai.clone(), dan.clone()];
    all.sort();
    assert_eq!(members(&app, &gid).await, all);
    assert_eq!(organizations(&app, &cai).await, ["acme"]);

    // Removal shape 1: a value filter in the path.
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{ "op": "Remove", "path": format!("members[value eq \"{dan}\"]") }]),
            )),
        )
        .await;
    assert!(status == 200 || status == 204);
    // Removal shape 2: `path: members` with a value list removes only those listed.
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{ "op": "Remove", "path": "members", "value": [{ "value": cai }] }]),
            )),
        )
        .await;
    assert!(status == 200 || status == 204);
    assert_eq!(members(&app, &gid).await, vec![bea.clone()]);
    assert!(organizations(&app, &cai).await.is_empty());
    assert_eq!(organizations(&app, &bea).await, ["acme"]);

    // Removing an absent member succeeds (idempotent).
    let (status, body) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(patch(
                json!([{ "op": "Remove", "path": format!("members[value eq \"{dan}\"]") }]),
            )),
        )
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");

    // Deactivation with the string boolean, then reactivation.
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Users/{bea}"),
            Some(patch(
                json!([{ "op": "Replace", "path": "active", "value": "False" }]),
            )),
        )
        .await;
    assert_eq!(status, 200);
    assert!(organizations(&app, &bea).await.is_empty());
    let (status, _) = app
        .scim_json(
            t,
            Method::PATCH,
            &format!("/Users/{bea}"),
            Some(patch(
                json!([{ "op": "Replace", "path": "active", "value": "True" }]),
            )),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(organizations(&app, &bea).await, ["acme"]);

    // Entra deletes users it no longer provisions; the audit trail stays.
    let (status, _) = app
        .scim_json(t, Method::DELETE, &format!("/Users/{bea}"), None)
        .await;
    assert_eq!(status, 204);
    assert!(
        app.db
            .store
            .get_user(&UserId::from(bea.as_str()))
            .await
            .expect("read")
            .is_none()
    );
    let audit = app
        .db
        .store
        .list_audit(&idp_sync::store::AuditQuery {
            user: Some(UserId::from(bea.as_str())),
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        audit.iter().any(|e| e.kind == "scim.user_deleted"),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|e| e.kind == "scim.user_created"),
        "{audit:?}"
    );
    assert!(members(&app, &gid).await.is_empty());
}
both_engines_app!(entra_sequence);
