//! SCIM protocol behaviour: authentication, errors in RFC 7644 §3.12 form with the right
//! `scimType` (never a 500), ETags and preconditions, connection isolation, paging,
//! discovery, bulk with bulkId references, and membership under 16 concurrent PATCHes.

use super::{id_of, members};
use crate::support::app::{ENTRA_TOKEN, OKTA_TOKEN, TestApp, both_engines_app};
use reqwest::Method;
use serde_json::{Value, json};

fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true
    })
}

async fn create_user(app: &TestApp, token: &str, name: &str) -> String {
    let (status, body) = app
        .scim_json(token, Method::POST, "/Users", Some(user(name)))
        .await;
    assert_eq!(status, 201, "{body}");
    id_of(&body)
}

fn assert_scim_error(status: u16, body: &Value, expected_status: u16, scim_type: Option<&str>) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{body}"
    );
    assert_eq!(
        body["status"],
        expected_status.to_string(),
        "status is a string: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], t, "{body}"),
        None => assert!(body.get("scimType").is_none_or(Value::is_null), "{body}"),
    }
}

async fn errors_are_scim_json(app: TestApp) {
    // No token, and an unknown token.
    let res = app
        .http
        .get(format!("{}/scim/v2/Users", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());
    assert_eq!(res.headers()["content-type"], "application/scim+json");
    let (status, body) = app.scim_json("nope", Method::GET, "/Users", None).await;
    assert_scim_error(status, &body, 401, None);

    // Malformed JSON, a body of the wrong type, a missing userName, a wrong attribute type.
    let res = app
        .scim(OKTA_TOKEN, Method::POST, "/Users")
        .body("{\"userName\": ")
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("json");
    assert_scim_error(status, &body, 400, Some("invalidSyntax"));
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Users", Some(json!([1, 2])))
        .await;
    assert!(status == 400, "{body}");
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"] })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@acme.com", "active": 7 })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));

    // NUL cannot be stored by either engine: refused, not a 500.
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a\u{0}b@acme.com" })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::GET,
            "/Users?filter=userName%20eq%20%22a%5Cu0000%22",
            None,
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidFilter"));

    // Uniqueness, case-insensitively.
    create_user(&app, OKTA_TOKEN, "dup@acme.com").await;
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(user("DUP@acme.com")),
        )
        .await;
    assert_scim_error(status, &body, 409, Some("uniqueness"));

    // Unknown ids, bad filters, bad PATCH.
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::GET, "/Users/does-not-exist", None)
        .await;
    assert_scim_error(status, &body, 404, None);
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::GET, "/Users?filter=userName%20eq", None)
        .await;
    assert_scim_error(status, &body, 400, Some("invalidFilter"));
    let id = create_user(&app, OKTA_TOKEN, "patchme@acme.com").await;
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "remove" }] })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("noTarget"));
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "emails[type eq", "value": "x" }] })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidPath"));

    // Wrong media type, oversize body.
    let res = app
        .http
        .post(format!("{}/scim/v2/Users", app.base))
        .bearer_auth(OKTA_TOKEN)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 415);
    let big = json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "big@acme.com", "title": "x".repeat(2 * 1024 * 1024) });
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Users", Some(big))
        .await;
    assert_scim_error(status, &body, 413, None);
}
both_engines_app!(errors_are_scim_json);

async fn connections_are_isolated(app: TestApp) {
    let okta_user = create_user(&app, OKTA_TOKEN, "iso@acme.com").await;
    // The same userName in another connection is another user.
    let entra_user = create_user(&app, ENTRA_TOKEN, "iso@acme.com").await;
    assert_ne!(okta_user, entra_user);
    let (status, _) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::GET,
            &format!("/Users/{okta_user}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::DELETE,
            &format!("/Users/{okta_user}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, list) = app
        .scim_json(ENTRA_TOKEN, Method::GET, "/Users", None)
        .await;
    assert_eq!(list["totalResults"], 1, "{list}");
    // A group of one connection cannot take another connection's users as members.
    let (status, body) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "X", "members": [{ "value": okta_user }] })),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"));
}
both_engines_app!(connections_are_isolated);

async fn etags_and_preconditions(app: TestApp) {
    let id = create_user(&app, OKTA_TOKEN, "etag@acme.com").await;
    let res = app
        .scim(OKTA_TOKEN, Method::GET, &format!("/Users/{id}"))
        .send()
        .await
        .expect("send");
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["meta"]["version"], etag);

    let res = app
        .scim(OKTA_TOKEN, Method::GET, &format!("/Users/{id}"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 304);

    let mut changed = user("etag@acme.com");
    changed["displayName"] = json!("Changed");
    let res = app
        .scim(OKTA_TOKEN, Method::PUT, &format!("/Users/{id}"))
        .header("if-match", &etag)
        .body(changed.to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    let new_etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert_ne!(new_etag, etag);

    // The old version is stale now.
    let res = app
        .scim(OKTA_TOKEN, Method::PUT, &format!("/Users/{id}"))
        .header("if-match", &etag)
        .body(user("etag@acme.com").to_string())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 412);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "412");
}
both_engines_app!(etags_and_preconditions);

async fn paging_is_stable_and_projection_works(app: TestApp) {
    for i in 0..25 {
        create_user(&app, OKTA_TOKEN, &format!("page{i:02}@acme.com")).await;
    }
    let mut seen = std::collections::BTreeSet::new();
    for start in [1, 11, 21] {
        let (status, page) = app
            .scim_json(
                OKTA_TOKEN,
                Method::GET,
                &format!("/Users?sortBy=userName&startIndex={start}&count=10"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["totalResults"], 25);
        assert_eq!(page["startIndex"], start);
        assert!(page["itemsPerPage"].is_u64());
        for r in page["Resources"].as_array().expect("resources") {
            assert!(seen.insert(r["userName"].as_str().expect("userName").to_owned()));
        }
    }
    assert_eq!(seen.len(), 25);
    let first = seen.iter().next().expect("first");
    assert_eq!(first, "page00@acme.com");

    let (_, page) = app
        .scim_json(
            OKTA_TOKEN,
            Method::GET,
            "/Users?attributes=userName&count=1",
            None,
        )
        .await;
    let r = &page["Resources"][0];
    assert!(r.get("userName").is_some() && r.get("id").is_some(), "{r}");
    assert!(
        r.get("active").is_none(),
        "only asked attributes (and always-returned ones): {r}"
    );

    let (status, page) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName sw \"page1\"",
                "startIndex": 1,
                "count": 100
            })),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["totalResults"], 10);
}
both_engines_app!(paging_is_stable_and_projection_works);

async fn discovery_documents(app: TestApp) {
    let (status, spc) = app
        .scim_json(OKTA_TOKEN, Method::GET, "/ServiceProviderConfig", None)
        .await;
    assert_eq!(status, 200, "{spc}");
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], true);
    assert!(spc["bulk"]["maxOperations"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["changePassword"]["supported"], false);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");

    let (status, types) = app
        .scim_json(OKTA_TOKEN, Method::GET, "/ResourceTypes", None)
        .await;
    assert_eq!(status, 200);
    let names: Vec<&str> = types["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"User") && names.contains(&"Group"),
        "{types}"
    );

    let (status, schemas) = app
        .scim_json(OKTA_TOKEN, Method::GET, "/Schemas", None)
        .await;
    assert_eq!(status, 200);
    let user_schema = schemas["Resources"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["id"] == "urn:ietf:params:scim:schemas:core:2.0:User")
        .expect("User schema");
    let user_name = user_schema["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .find(|a| a["name"] == "userName")
        .expect("userName");
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["required"], true);
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::GET,
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    assert_eq!(status, 200);
}
both_engines_app!(discovery_documents);

async fn bulk_resolves_bulk_ids(app: TestApp) {
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    { "method": "POST", "path": "/Groups", "bulkId": "g1",
                      "data": { "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
                                "members": [{ "value": "bulkId:u1" }, { "value": "bulkId:u2" }] } },
                    { "method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bulk1@acme.com") },
                    { "method": "POST", "path": "/Users", "bulkId": "u2", "data": user("bulk2@acme.com") }
                ]
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"])
    );
    let ops = body["Operations"].as_array().expect("ops");
    assert_eq!(ops.len(), 3, "{body}");
    assert!(ops.iter().all(|o| o["status"] == "201"), "{body}");
    let group_location = ops.iter().find(|o| o["bulkId"] == "g1").expect("g1")["location"]
        .as_str()
        .expect("location")
        .to_owned();
    let gid = group_location.rsplit('/').next().expect("id").to_owned();
    assert_eq!(members(&app, &gid).await.len(), 2);

    // failOnErrors stops after that many errors.
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "failOnErrors": 1,
                "Operations": [
                    { "method": "POST", "path": "/Users", "bulkId": "a", "data": user("bulk1@acme.com") },
                    { "method": "POST", "path": "/Users", "bulkId": "b", "data": user("bulk3@acme.com") }
                ]
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ops = body["Operations"].as_array().expect("ops");
    assert_eq!(ops.len(), 1, "processing stops at the first error: {body}");
    assert_eq!(ops[0]["status"], "409");
    assert_eq!(ops[0]["response"]["scimType"], "uniqueness");

    // Too many operations: 413.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "method": "DELETE", "path": format!("/Users/x{i}") }))
        .collect();
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Bulk",
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": many })),
        )
        .await;
    assert_eq!(status, 413, "{body}");
}
both_engines_app!(bulk_resolves_bulk_ids);

async fn concurrent_member_patches_lose_nothing(app: TestApp) {
    let (status, group) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [] })),
        )
        .await;
    assert_eq!(status, 201);
    let gid = id_of(&group);
    let mut ids = Vec::new();
    for i in 0..64 {
        ids.push(create_user(&app, ENTRA_TOKEN, &format!("c{i}@acme.com")).await);
    }
    // 16 PATCHes at once, as Entra sends them, each adding four users.
    let mut tasks = Vec::new();
    for chunk in ids.chunks(4) {
        let http = app.http.clone();
        let url = format!("{}/scim/v2/Groups/{gid}", app.base);
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "Add", "path": "members", "value": chunk.iter().map(|id| json!({ "value": id })).collect::<Vec<_>>() }]
        });
        tasks.push(tokio::spawn(async move {
            http.patch(url)
                .bearer_auth(ENTRA_TOKEN)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        let status = t.await.expect("task");
        assert!(status == 200 || status == 204, "{status}");
    }
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(
        members(&app, &gid).await,
        expected,
        "no membership update was lost"
    );
    // …and the group's version counted every change.
    let (_, got) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::GET,
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(got.get("members").is_none(), "{got}");
    assert_eq!(got["meta"]["version"], "W/\"17\"", "{got}");
}
both_engines_app!(concurrent_member_patches_lose_nothing);

async fn break_glass_accounts_are_not_removed_by_the_idp(app: TestApp) {
    let (status, group) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [] })),
        )
        .await;
    assert_eq!(status, 201);
    let root = create_user(&app, OKTA_TOKEN, "Root@Example.com").await;
    let gid = id_of(&group);
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "add", "path": "members", "value": [{ "value": root }] }]
    });
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some(add),
        )
        .await;
    assert!(status == 200 || status == 204);
    assert_eq!(
        super::organizations(&app, &root).await,
        ["acme", "acme-east"]
    );

    // Deactivation and leaving the group keep the access of a break-glass account…
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{root}"),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        super::organizations(&app, &root).await,
        ["acme", "acme-east"]
    );

    // Naming this (protected, so audited on every recompute) user in another connection's
    // member removal touches nobody: no recompute, no audit record.
    let audit_count = || async {
        app.db
            .store
            .list_audit(&idp_sync::store::AuditQuery {
                user: Some(idp_sync::domain::UserId::from(root.as_str())),
                ..Default::default()
            })
            .await
            .expect("audit")
            .len()
    };
    let before = audit_count().await;
    let (status, group) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Y", "members": [] })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .scim_json(
            ENTRA_TOKEN,
            Method::PATCH,
            &format!("/Groups/{}", id_of(&group)),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "remove", "path": format!("members[value eq \"{root}\"]") }] })),
        )
        .await;
    assert!(status == 200 || status == 204);
    assert_eq!(
        audit_count().await,
        before,
        "another connection's request touched this user"
    );

    // A rename would take the account out of the break-glass list: refused.
    let (status, body) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{root}"),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "value": { "userName": "x@acme.com", "active": false } }] })),
        )
        .await;
    assert_scim_error(status, &body, 403, None);
    assert_eq!(
        super::organizations(&app, &root).await,
        ["acme", "acme-east"]
    );

    // …and a DELETE is refused, in SCIM's form, with the account still there.
    let (status, body) = app
        .scim_json(OKTA_TOKEN, Method::DELETE, &format!("/Users/{root}"), None)
        .await;
    assert_scim_error(status, &body, 403, None);
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::GET, &format!("/Users/{root}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        super::organizations(&app, &root).await,
        ["acme", "acme-east"]
    );
}
both_engines_app!(
    break_glass_accounts_are_not_removed_by_the_idp,
    "[removal]\nbreak_glass = [\"root@example.com\"]\n"
);

/// A group with more members than one page (5,000) is written out page by page: the body
/// is the same JSON as for a small group (every member, ordered by id, `$ref` and `type`),
/// with its ETag, and `If-None-Match` still answers 304.
async fn large_groups_are_read_whole(app: TestApp) {
    let (status, group) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone", "externalId": "all", "members": [] })),
        )
        .await;
    assert_eq!(status, 201);
    let gid = id_of(&group);
    let connection = idp_sync::domain::ConnectionId::from("okta");
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    let mut tx = app.db.store.begin().await.expect("begin");
    for i in 0..12_001 {
        let user = idp_sync::domain::User::new(connection.clone(), format!("m{i}@acme.com"), now);
        tx.create_user(&user).await.expect("user");
        ids.push(user.id);
    }
    tx.add_group_members(&idp_sync::domain::GroupId::from(gid.as_str()), &ids)
        .await
        .expect("members");
    tx.commit().await.expect("commit");
    let mut expected: Vec<String> = ids.into_iter().map(|id| id.into_string()).collect();
    expected.sort();

    let res = app
        .scim(OKTA_TOKEN, Method::GET, &format!("/Groups/{gid}"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().ok(),
        Some("application/scim+json")
    );
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let text = res.text().await.expect("body");
    let got: Value = serde_json::from_str(&text).expect("JSON");
    // serde_json writes keys sorted and compact: the body is byte for byte that form.
    assert_eq!(got.to_string(), text);
    assert_eq!(got["displayName"], "Everyone");
    assert_eq!(got["externalId"], "all");
    assert_eq!(got["id"], gid.as_str());
    assert_eq!(got["meta"]["version"], etag.as_str());
    assert_eq!(
        got["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
    );
    let members = got["members"].as_array().expect("members");
    let values: Vec<&str> = members
        .iter()
        .map(|m| m["value"].as_str().expect("value"))
        .collect();
    assert_eq!(values, expected);
    let first = &members[0];
    assert_eq!(
        first,
        &json!({
            "value": expected[0],
            "$ref": format!("{}/scim/v2/Users/{}", app.base, expected[0]),
            "type": "User",
        })
    );

    let res = app
        .scim(OKTA_TOKEN, Method::GET, &format!("/Groups/{gid}"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 304);
}
both_engines_app!(large_groups_are_read_whole);

both_engines_app!(direct_bodies_equal_rendered_ones);
/// The default answers of `GET /Users/{id}`, a `userName eq` list and a create are written
/// straight from the stored row on SQLite (point reads, no JSON tree); asking for an
/// attribute set that changes nothing takes the tree path. Both give the same bytes.
async fn direct_bodies_equal_rendered_ones(app: TestApp) {
    let fixture: Value = serde_json::from_str(include_str!(
        "../../../src/scim/resource/fixtures/okta_create_user.json"
    ))
    .unwrap();
    let (status, created) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Users", Some(fixture))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = id_of(&created);
    let (status, group) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Groups",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering \"core\"",
                "members": [{"value": id}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{group}");

    let raw = |path: String| {
        let app = &app;
        async move {
            let res = app
                .http
                .get(format!("{}/scim/v2{path}", app.base))
                .bearer_auth(OKTA_TOKEN)
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 200);
            res.text().await.expect("body")
        }
    };
    let user_name = created["userName"].as_str().unwrap();
    let filter = format!("filter=userName%20eq%20%22{}%22", user_name.to_uppercase());
    for (direct, tree) in [
        (
            format!("/Users/{id}"),
            format!("/Users/{id}?excludedAttributes=nickName"),
        ),
        (
            format!("/Users?{filter}"),
            format!("/Users?{filter}&excludedAttributes=nickName"),
        ),
        (
            format!("/Users?filter=id%20eq%20%22{id}%22&startIndex=1&count=5"),
            format!("/Users?filter=id%20eq%20%22{id}%22&startIndex=1&count=5&sortBy=id"),
        ),
    ] {
        let (direct_body, tree_body) = (raw(direct.clone()).await, raw(tree).await);
        assert_eq!(direct_body, tree_body, "{direct}");
        assert!(
            direct_body.contains("Engineering \\\"core\\\""),
            "{direct_body}"
        );
    }
    // The create's answer is the read's, but for the group added since.
    let mut read: Value = serde_json::from_str(&raw(format!("/Users/{id}")).await).unwrap();
    read.as_object_mut().unwrap().remove("groups");
    assert_eq!(read, created);
}
