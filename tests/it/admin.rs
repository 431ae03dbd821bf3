//! The admin API's read side, on both engines: authentication, users with their access and
//! its sources, organization members, and the audit log in cursor pages.

use crate::support::app::{ADMIN_TOKEN, OKTA_TOKEN, TestApp, both_engines_app};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

async fn admin_reads_users_organizations_and_audit(app: TestApp) {
    // Authentication: JSON errors with a stable code.
    let (status, body) = app.admin_get("wrong-token", "/users").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "AUTH-REQUIRED");
    let res = app
        .http
        .get(format!("{}/admin/v1/users", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());

    // Two users; one joins the mapped group.
    let mut ids = Vec::new();
    for name in ["ana@acme.com", "bob@acme.com"] {
        let (status, body) = app
            .scim_json(
                OKTA_TOKEN,
                Method::POST,
                "/Users",
                Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "displayName": "Someone" })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [{ "value": ids[0] }] })),
        )
        .await;
    assert_eq!(status, 201);

    let (status, page) = app.admin_get(ADMIN_TOKEN, "/users").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    assert!(page["next_cursor"].is_null());
    let (_, ana) = app
        .admin_get(ADMIN_TOKEN, &format!("/users/{}", ids[0]))
        .await;
    assert_eq!(ana["access"]["role"], "Editor");
    assert_eq!(ana["access"]["organizations"], json!(["acme", "acme-east"]));
    assert_eq!(
        ana["sources"]["organizations"]["acme"][0]["description"],
        "Editor on acme — from mapping 0 via IdP group Engineering"
    );
    assert_eq!(ana["idp_groups"][0]["display_name"], "Engineering");
    let (_, bob) = app
        .admin_get(ADMIN_TOKEN, &format!("/users/{}", ids[1]))
        .await;
    assert!(bob["access"].is_null());

    // Filters and pages.
    let (_, page) = app.admin_get(ADMIN_TOKEN, "/users?organization=acme").await;
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    let (status, body) = app.admin_get(ADMIN_TOKEN, "/users?state=bogus").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-STATE");
    let (status, _) = app.admin_get(ADMIN_TOKEN, "/users?limit=many").await;
    assert_eq!(status, 400);
    let (status, body) = app.admin_get(ADMIN_TOKEN, "/users/nope").await;
    assert_eq!(status, 404, "{body}");

    // Organizations with their members.
    let (_, orgs) = app.admin_get(ADMIN_TOKEN, "/organizations").await;
    let acme = orgs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|o| o["slug"] == "acme")
        .expect("acme")
        .clone();
    assert_eq!(acme["members"], 1);
    let (_, east) = app.admin_get(ADMIN_TOKEN, "/organizations/acme").await;
    assert_eq!(east["suborganizations"], json!(["acme-east"]));
    assert_eq!(east["members"][0]["user_name"], "ana@acme.com");
    assert_eq!(east["members"][0]["role"], "Editor");

    // The audit log, newest first, walked in pages of two: every record once.
    let (_, all) = app.admin_get(ADMIN_TOKEN, "/audit?limit=1000").await;
    let total = all["items"].as_array().expect("items").len();
    assert!(total >= 4, "{all}");
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/audit?limit=2&cursor={c}"),
            None => "/audit?limit=2".to_owned(),
        };
        let (status, page) = app.admin_get(ADMIN_TOKEN, &path).await;
        assert_eq!(status, 200, "{page}");
        for e in page["items"].as_array().expect("items") {
            assert!(seen.insert(e["seq"].as_i64().expect("seq")));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    let (_, ana_audit) = app
        .admin_get(
            ADMIN_TOKEN,
            &format!("/audit?user={}&type=access.changed", ids[0]),
        )
        .await;
    assert_eq!(
        ana_audit["items"].as_array().expect("items").len(),
        1,
        "{ana_audit}"
    );
}
both_engines_app!(admin_reads_users_organizations_and_audit);

async fn post_json(
    app: &TestApp,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = app
        .http
        .post(format!("{}/admin/v1{path}", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

async fn manual_invitations(app: TestApp) {
    use crate::support::app::MANAGER_TOKEN;
    // A Manager cannot invite an Administrator; an organization is required.
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["x@acme.com"], "role": "Administrator", "organizations": ["acme"] }),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["x@acme.com"], "role": "Editor", "organizations": [] }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-NO-ORGANIZATION");
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["x@acme.com"], "role": "Editor", "organizations": ["nowhere"] }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-UNKNOWN-ORGANIZATION");
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["not an address"], "role": "Editor", "organizations": ["acme"] }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-EMAIL");

    // Many at once; the same address twice counts once.
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["cy@acme.com", "dee@acme.com", "CY@acme.com"], "role": "Editor", "organizations": ["acme", "globex"], "groups": ["Client - Acme"] }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let invited = body["invited"].as_array().expect("invited");
    assert_eq!(invited.len(), 2);
    let user_id = invited[0]["user_id"].as_str().expect("id").to_owned();
    let (_, user) = app
        .admin_get(ADMIN_TOKEN, &format!("/users/{user_id}"))
        .await;
    assert_eq!(user["connection"], "manual");
    assert_eq!(user["state"], "invited");
    assert_eq!(user["access"]["organizations"], json!(["acme", "globex"]));
    assert_eq!(user["access"]["groups"], json!(["Client - Acme"]));
    assert_eq!(user["invitations"][0]["invited_by"], "admin:lead");

    // Inviting again skips; resend replaces the link; revoke stops it.
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        "/invitations",
        json!({ "emails": ["cy@acme.com"], "role": "Editor", "organizations": ["acme"] }),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["skipped"].as_array().expect("skipped").len(), 1);
    let first = invited[0]["invitation_id"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let (status, body) = post_json(
        &app,
        MANAGER_TOKEN,
        &format!("/invitations/{first}/resend"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let second = body["invitation_id"].as_str().expect("new").to_owned();
    assert_ne!(second, first);
    let (status, _) = post_json(
        &app,
        MANAGER_TOKEN,
        &format!("/invitations/{first}/resend"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "a replaced invitation cannot be resent");
    let (status, _) = post_json(
        &app,
        MANAGER_TOKEN,
        &format!("/invitations/{second}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(status, 204);
    let (_, user) = app
        .admin_get(ADMIN_TOKEN, &format!("/users/{user_id}"))
        .await;
    let statuses: Vec<&str> = user["invitations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["status"].as_str())
        .collect();
    assert!(statuses.iter().all(|s| *s == "revoked"), "{statuses:?}");

    // A manual user's access is not touched by mappings (a reload-style recompute skips them),
    // and an Administrator token may invite an Administrator.
    let (status, _) = post_json(
        &app,
        ADMIN_TOKEN,
        "/invitations",
        json!({ "emails": ["boss@acme.com"], "role": "Administrator", "organizations": ["acme"] }),
    )
    .await;
    assert_eq!(status, 201);
}
both_engines_app!(manual_invitations);
