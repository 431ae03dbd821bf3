//! `openapi/admin-v1.json` against the admin router, both ways: every endpoint the router
//! serves is documented and every documented one is served (and answers 401 without a
//! token, not the fallback's 404 or a 405); then real answers of every endpoint — success
//! and error — are validated against the document's schemas (JSON Schema 2020-12), on both
//! engines. A field added to a response without documenting it fails here.

use crate::admin_ops::CONFLICT_TOML;
use crate::removals::{create_group, create_users};
use crate::support::app::{ADMIN_TOKEN, MANAGER_TOKEN, OKTA_TOKEN, TestApp};
use idp_sync::http::admin::endpoints;
use idp_sync::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/admin-v1.json");
    let text = std::fs::read_to_string(path).expect("openapi/admin-v1.json");
    serde_json::from_str(&text).expect("the OpenAPI file is JSON")
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[test]
fn every_admin_route_is_documented_and_every_documented_one_is_routed() {
    let doc = document();
    let documented = documented(&doc);
    let routed: BTreeSet<(String, String)> = endpoints()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_owned()))
        .collect();
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "openapi/admin-v1.json has drifted from the router.\n routed, not documented: {undocumented:?}\n documented, not routed: {unrouted:?}"
    );
}

/// The schema of the documented answer `status` of `method path`, with the document's
/// components beside it so `$ref`s resolve.
fn response_schema(doc: &Value, method: &str, path: &str, status: u16) -> Option<Value> {
    let response = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()];
    assert!(
        !response.is_null(),
        "{method} {path} answered {status}, which the OpenAPI file does not document"
    );
    let schema = response["content"]["application/json"]["schema"].clone();
    (!schema.is_null()).then(|| {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": doc["components"],
            "allOf": [schema],
        })
    })
}

/// Sends a request and checks the answer against the document; returns status and body.
async fn call(
    app: &TestApp,
    doc: &Value,
    token: &str,
    method: Method,
    (template, path): (&str, &str),
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method.clone(), format!("{}/admin/v1{path}", app.base))
        .bearer_auth(token);
    if let Some((content_type, body)) = body {
        req = req.header("content-type", content_type).body(body);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let value: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    match response_schema(doc, method.as_str(), template, status) {
        Some(schema) => {
            let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {path} → {status} does not match the OpenAPI file:\n{}\nbody: {value:#}",
                errors.join("\n")
            );
        }
        None => assert!(
            value.is_null(),
            "{method} {path} → {status} has a body: {value}"
        ),
    }
    (status, value)
}

fn json_body(value: Value) -> Option<(&'static str, String)> {
    Some(("application/json", value.to_string()))
}

async fn admin_answers_match_the_openapi_file(app: TestApp) {
    let doc = document();

    // Every documented endpoint is routed: without a token it answers 401, documented.
    for (method, template) in documented(&doc) {
        let path = template
            .replace("{id}", "x")
            .replace("{slug}", "x")
            .replace("{event_id}", "x")
            .replace("{destination}", "x");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let (status, body) = call(&app, &doc, "", method.clone(), (&template, &path), None).await;
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "AUTH-REQUIRED");
    }

    // A directory with access, a conflict, an invitation and deliveries waiting.
    let users = create_users(&app, &["ana@acme.com", "bob@acme.com", "lite@acme.com"]).await;
    let group = create_group(&app, "Engineering", &users[..2]).await;
    create_group(&app, "Contractors", &users[2..]).await;

    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/users", "/users"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/users", "/users?state=bogus"),
        None,
    )
    .await;
    let u = format!("/users/{}", users[0]);
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/users/{id}", u.as_str()),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/users/{id}", "/users/nope"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/organizations", "/organizations"),
        None,
    )
    .await;
    let o = ("/organizations/{slug}", "/organizations/acme");
    call(&app, &doc, ADMIN_TOKEN, Method::GET, o, None).await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/audit", "/audit?limit=5"),
        None,
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/audit", "/audit?since=yesterday"),
        None,
    )
    .await;
    let (_, conflicts) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/conflicts", "/conflicts"),
        None,
    )
    .await;
    assert_eq!(conflicts["items"].as_array().expect("items").len(), 1);

    // Invitations: list, invite, resend, revoke, refusals.
    let (_, page) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/invitations", "/invitations"),
        None,
    )
    .await;
    let invitation = page["items"][0]["id"]
        .as_str()
        .expect("invitation")
        .to_owned();
    let invite = json!({ "emails": ["new@acme.com"], "role": "Editor", "organizations": ["acme"] });
    let i = ("/invitations", "/invitations");
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        i,
        json_body(invite.clone()),
    )
    .await;
    assert_eq!(status, 201);
    let admin_invite =
        json!({ "emails": ["x@acme.com"], "role": "Administrator", "organizations": ["acme"] });
    call(
        &app,
        &doc,
        MANAGER_TOKEN,
        Method::POST,
        i,
        json_body(admin_invite),
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        i,
        json_body(json!({ "emails": [] })),
    )
    .await;
    let r = format!("/invitations/{invitation}/resend");
    let (status, resent) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        ("/invitations/{id}/resend", r.as_str()),
        None,
    )
    .await;
    assert_eq!(status, 200);
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        ("/invitations/{id}/resend", r.as_str()),
        None,
    )
    .await;
    let v = format!(
        "/invitations/{}/revoke",
        resent["invitation_id"].as_str().expect("id")
    );
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        ("/invitations/{id}/revoke", v.as_str()),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Deliveries: the webhook's are pending (no worker runs here).
    let d = ("/deliveries", "/deliveries?state=pending");
    let (_, pending) = call(&app, &doc, ADMIN_TOKEN, Method::GET, d, None).await;
    let first = &pending["items"][0];
    let key = (
        first["event_id"].as_str().expect("event").to_owned(),
        first["destination"]
            .as_str()
            .expect("destination")
            .to_owned(),
    );
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/deliveries", "/deliveries?state=x"),
        None,
    )
    .await;
    let one = format!("/deliveries/{}/{}/retry", key.0, key.1);
    let t = "/deliveries/{event_id}/{destination}/retry";
    let (status, _) = call(&app, &doc, ADMIN_TOKEN, Method::POST, (t, &one), None).await;
    assert_eq!(status, 409, "a pending delivery is not dead");
    let bulk = json!({ "deliveries": [{ "event_id": key.0, "destination": key.1 }] });
    let m = ("/deliveries/retry", "/deliveries/retry");
    let (_, body) = call(&app, &doc, ADMIN_TOKEN, Method::POST, m, json_body(bulk)).await;
    assert_eq!(
        body["refused"][0]["error"]["code"],
        "ADMIN-DELIVERY-NOT-DEAD"
    );
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        m,
        json_body(json!({ "nope": 1 })),
    )
    .await;

    // Removals: a mass removal is held, listed, decided.
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::DELETE,
            &format!("/Groups/{group}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, held) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::GET,
        ("/removals", "/removals"),
        None,
    )
    .await;
    let held_id = held["items"][0]["id"].as_str().expect("removal").to_owned();
    let a = ("/removals/approve", "/removals/approve");
    let j = ("/removals/reject", "/removals/reject");
    call(
        &app,
        &doc,
        MANAGER_TOKEN,
        Method::POST,
        a,
        json_body(json!({ "all": true })),
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        a,
        json_body(json!({})),
    )
    .await;
    call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        a,
        json_body(json!({ "reload": true })),
    )
    .await;
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        j,
        json_body(json!({ "ids": [held_id] })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        a,
        json_body(json!({ "all": true })),
    )
    .await;
    assert_eq!(status, 200);
    let rejected = ("/removals", "/removals?status=rejected");
    let (_, page) = call(&app, &doc, ADMIN_TOKEN, Method::GET, rejected, None).await;
    assert_eq!(page["items"][0]["decided_by"], "admin:ops");

    // Plan: a config, an invalid one, an empty body, a Manager.
    let toml = format!(
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{}\"\n[database]\nurl = \"{}\"\n{}\n{CONFLICT_TOML}",
        app.base,
        app.db.url,
        crate::support::app::BASE_POLICY
    );
    let pl = ("/plan", "/plan");
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        pl,
        Some(("application/toml", toml.clone())),
    )
    .await;
    assert_eq!(status, 200);
    let bad = "version = 1\n[[roles]]\nname = 3\n".to_owned();
    let (status, _) = call(
        &app,
        &doc,
        ADMIN_TOKEN,
        Method::POST,
        pl,
        Some(("application/toml", bad)),
    )
    .await;
    assert_eq!(status, 422);
    call(&app, &doc, ADMIN_TOKEN, Method::POST, pl, None).await;
    call(
        &app,
        &doc,
        MANAGER_TOKEN,
        Method::POST,
        pl,
        Some(("text/plain", toml)),
    )
    .await;
}

const EXTRA: &str = "[removal]\nmass_threshold = 0.2\nmass_minimum = 2\n\
    [[webhooks]]\nname = \"app\"\nurl = \"http://127.0.0.1:9/hooks\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\n";

mod admin_answers_match_the_openapi_file {
    use super::*;

    async fn run(engine: Engine) {
        let app = TestApp::spawn(engine, &format!("{EXTRA}{CONFLICT_TOML}")).await;
        super::admin_answers_match_the_openapi_file(app).await;
    }

    #[tokio::test]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Engine::Postgres).await;
    }
}
