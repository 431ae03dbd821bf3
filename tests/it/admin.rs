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
