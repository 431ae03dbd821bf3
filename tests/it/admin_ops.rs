//! The admin API's operations beyond users and invitations, on both engines: deliveries
//! (list by state, retry one, retry many — the real worker and a real webhook receiver),
//! conflicts, `plan` of a posted config (the same JSON as `idp-sync plan --json`), the
//! invitations list, and the CLI commands that share their code paths.

use crate::outbox::{Receiver, fast_options, start_worker};
use crate::removals::{create_group, create_users};
use crate::support::app::{ADMIN_TOKEN, BASE_POLICY, MANAGER_TOKEN, TestApp, both_engines_app};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Polls the deliveries list until `state` has `n` items.
async fn wait_for_deliveries(app: &TestApp, state: &str, n: usize) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, page) = app
            .admin_get(ADMIN_TOKEN, &format!("/deliveries?state={state}"))
            .await;
        assert_eq!(status, 200, "{page}");
        if page["items"].as_array().expect("items").len() == n {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waiting for {n} {state} deliveries: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The webhook of these tests goes to a receiver started before the app, on this port.
async fn deliveries_are_listed_and_retried(app: TestApp, receiver: Receiver) {
    let worker = start_worker(app.db.store.clone(), &app.config, fast_options());
    let users = create_users(&app, &["ana@acme.com", "bob@acme.com", "cy@acme.com"]).await;
    create_group(&app, "Engineering", &users).await;

    // 400 is final: each user.invited goes straight to the dead letters.
    let dead = wait_for_deliveries(&app, "dead", 3).await;
    let first = &dead["items"][0];
    assert_eq!(first["event_type"], "user.invited");
    assert_eq!(first["destination"], "webhook:app");
    assert_eq!(first["state"], "dead");
    assert!(
        first["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("400")
    );
    let (_, page) = app
        .admin_get(ADMIN_TOKEN, "/deliveries?state=dead&limit=2")
        .await;
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, rest) = app
        .admin_get(
            ADMIN_TOKEN,
            &format!(
                "/deliveries?state=dead&limit=2&cursor={}",
                urlencode(&cursor)
            ),
        )
        .await;
    assert_eq!(rest["items"].as_array().expect("items").len(), 1, "{rest}");
    let (status, body) = app.admin_get(ADMIN_TOKEN, "/deliveries?state=lost").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-STATE");

    // One by hand: delivered once the receiver accepts.
    receiver.set_status(204);
    let event = first["event_id"].as_str().expect("event").to_owned();
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            &format!("/deliveries/{event}/webhook:app/retry"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    wait_for_deliveries(&app, "delivered", 1).await;
    // Not dead any more, unknown, and an invitation email: stable errors.
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            &format!("/deliveries/{event}/webhook:app/retry"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ADMIN-DELIVERY-NOT-DEAD");
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            "/deliveries/evt_nope/webhook:app/retry",
            Value::Null,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            &format!("/deliveries/{event}/email/retry"),
            Value::Null,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ADMIN-EMAIL-NOT-RETRYABLE");

    // One through the CLI (same function, same database).
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("idp-sync.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{}\"\n[database]\nurl = \"{}\"\n{BASE_POLICY}",
            app.base, app.db.url
        ),
    )
    .expect("write");
    let listed: Value =
        serde_json::from_str(&cli(&config, &["deliveries", "list", "--json"])).expect("json");
    assert_eq!(listed.as_array().expect("list").len(), 2, "{listed}");
    let second = listed[0]["event_id"].as_str().expect("event").to_owned();
    let out = cli(&config, &["deliveries", "retry", &second, "webhook:app"]);
    assert!(out.contains("pending again"), "{out}");
    wait_for_deliveries(&app, "delivered", 2).await;

    // The rest in bulk.
    let (status, body) = app
        .admin_post(ADMIN_TOKEN, "/deliveries/retry", json!({}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "ADMIN-NOTHING-SELECTED");
    let (status, body) = app
        .admin_post(
            ADMIN_TOKEN,
            "/deliveries/retry",
            json!({ "all_dead": true, "destination": "webhook:app" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["retried"].as_array().expect("retried").len(), 1);
    wait_for_deliveries(&app, "delivered", 3).await;
    assert_eq!(
        receiver.hits().len(),
        6,
        "three dead attempts, three deliveries"
    );
    let (_, audit) = app
        .admin_get(ADMIN_TOKEN, "/audit?type=delivery.retried")
        .await;
    assert_eq!(audit["items"].as_array().expect("items").len(), 3);
    worker.stop().await;
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

mod deliveries_are_listed_and_retried {
    use super::*;
    use idp_sync::store::Engine;

    async fn run(engine: Engine) {
        let receiver = Receiver::start(400).await;
        let extra = format!(
            "[[webhooks]]\nname = \"app\"\nurl = \"{}/hooks\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\n\
             [delivery]\nbackoff_base = \"50ms\"\nbackoff_max = \"200ms\"\nmax_age = \"1h\"\n",
            receiver.url
        );
        let app = TestApp::spawn(engine, &extra).await;
        super::deliveries_are_listed_and_retried(app, receiver).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Engine::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Engine::Postgres).await;
    }
}

pub const CONFLICT_TOML: &str = r#"
[[organizations]]
slug = "initech"
name = "Initech"
[[organizations]]
slug = "umbrella"
name = "Umbrella"
[[organizations]]
slug = "hooli"
name = "Hooli"
[[mappings]]
connection = "okta"
idp_group = "Contractors"
role = "Lite"
organizations = ["acme", "acme-east", "globex", "initech", "umbrella", "hooli"]
"#;

async fn conflicts_plan_and_invitations(app: TestApp) {
    let users = create_users(&app, &["lite@acme.com", "eng@acme.com"]).await;
    create_group(&app, "Contractors", &users[..1]).await;
    create_group(&app, "Engineering", &users[1..]).await;

    // The Lite user over five organizations is a conflict, not invited.
    let (status, page) = app.admin_get(ADMIN_TOKEN, "/conflicts").await;
    assert_eq!(status, 200, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["id"], users[0].as_str());
    assert_eq!(items[0]["conflict"]["kind"], "max_organizations");
    assert_eq!(items[0]["conflict"]["limit"], 5);
    assert_eq!(items[0]["conflict"]["count"], 6);
    assert!(items[0]["access"].is_null());

    // Invitations: the Engineering user's.
    let (status, page) = app.admin_get(ADMIN_TOKEN, "/invitations").await;
    assert_eq!(status, 200, "{page}");
    let invitations = page["items"].as_array().expect("items");
    assert_eq!(invitations.len(), 1, "{page}");
    assert_eq!(invitations[0]["user_id"], users[1].as_str());
    assert_eq!(invitations[0]["status"], "pending");
    assert!(invitations[0].get("token_hash").is_none());
    let (_, none) = app
        .admin_get(ADMIN_TOKEN, "/invitations?status=revoked")
        .await;
    assert!(none["items"].as_array().expect("items").is_empty());
    let (status, body) = app.admin_get(ADMIN_TOKEN, "/invitations?status=lost").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ADMIN-BAD-STATUS");

    // The CLI on the same database: list, resend, revoke.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("idp-sync.toml");
    let base = format!(
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"{}\"\n[database]\nurl = \"{}\"\n{BASE_POLICY}\n{CONFLICT_TOML}",
        app.base, app.db.url
    );
    std::fs::write(&config, &base).expect("write");
    let listed = cli(&config, &["invitations", "list", "--json"]);
    let listed: Value = serde_json::from_str(&listed).expect("json");
    let first = listed[0]["id"].as_str().expect("id").to_owned();
    let resent = cli(&config, &["invitations", "resend", &first]);
    assert!(resent.contains("replaced by"), "{resent}");
    let (_, page) = app
        .admin_get(ADMIN_TOKEN, "/invitations?status=pending")
        .await;
    let second = page["items"][0]["id"].as_str().expect("id").to_owned();
    assert_ne!(second, first);
    let revoked = cli(&config, &["invitations", "revoke", &second]);
    assert!(revoked.contains("revoked"), "{revoked}");
    let (_, page) = app
        .admin_get(ADMIN_TOKEN, "/invitations?status=revoked")
        .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 2, "{page}");
    let dead = cli(
        &config,
        &["deliveries", "list", "--state", "pending", "--json"],
    );
    let dead: Value = serde_json::from_str(&dead).expect("json");
    assert!(
        dead.as_array()
            .expect("list")
            .iter()
            .all(|d| d["state"] == "pending")
    );

    // Plan of a posted config: without the Engineering mapping, the user would be suspended;
    // the same JSON as `idp-sync plan --json`.
    let without_engineering = base.replace(
        "[[mappings]]\nconnection = \"okta\"\nidp_group = \"Engineering\"\nrole = \"Editor\"\norganizations = [\"acme\", \"acme-east\"]\n",
        "",
    );
    assert_ne!(without_engineering, base);
    let res = app
        .http
        .post(format!("{}/admin/v1/plan", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/toml")
        .body(without_engineering.clone())
        .send()
        .await
        .expect("plan");
    assert_eq!(res.status(), 200);
    let planned: Value = res.json().await.expect("json");
    assert_eq!(planned["summary"]["suspend"], 1, "{planned}");
    assert_eq!(planned["entries"][0]["user_name"], "eng@acme.com");
    assert_eq!(planned["entries"][0]["change"], "suspend");
    std::fs::write(&config, &without_engineering).expect("write");
    let from_cli: Value = serde_json::from_str(&cli(&config, &["plan", "--json"])).expect("json");
    assert_eq!(planned, from_cli);

    let res = app
        .http
        .post(format!("{}/admin/v1/plan", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .body("version = 1\n[[mappings]]\nconnection = \"nope\"\n")
        .send()
        .await
        .expect("plan");
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ADMIN-INVALID-CONFIG");
    assert!(
        !body["error"]["problems"]
            .as_array()
            .expect("problems")
            .is_empty()
    );
    let res = app
        .http
        .post(format!("{}/admin/v1/plan", app.base))
        .bearer_auth(MANAGER_TOKEN)
        .body(base)
        .send()
        .await
        .expect("plan");
    assert_eq!(res.status(), 403);
    let res = app
        .http
        .post(format!("{}/admin/v1/plan", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("plan");
    assert_eq!(res.status(), 400);
}
both_engines_app!(conflicts_plan_and_invitations, super::CONFLICT_TOML);

fn cli(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env("IDP_SYNC_LOG_FORMAT", "json")
        .env("RUST_LOG", "error")
        .output()
        .expect("run idp-sync");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "idp-sync {args:?} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A webhook without a name is the destination `webhook:<its URL>`: slashes and all, it is
/// one path segment once percent-encoded.
async fn a_destination_with_slashes_is_one_encoded_segment(app: TestApp) {
    let users = create_users(&app, &["ana@acme.com"]).await;
    create_group(&app, "Engineering", &users).await;
    let (_, page) = app
        .admin_get(ADMIN_TOKEN, "/deliveries?state=pending")
        .await;
    let item = &page["items"][0];
    assert_eq!(item["destination"], "webhook:http://127.0.0.1:9/hooks");
    let event = item["event_id"].as_str().expect("event");
    let path = format!(
        "/deliveries/{event}/{}/retry",
        urlencode("webhook:http://127.0.0.1:9/hooks").replace('+', "%20")
    );
    let (status, body) = app.admin_post(ADMIN_TOKEN, &path, Value::Null).await;
    assert_eq!(status, 409, "found, and not dead: {body}");
    assert_eq!(body["error"]["code"], "ADMIN-DELIVERY-NOT-DEAD");
}
both_engines_app!(
    a_destination_with_slashes_is_one_encoded_segment,
    "[[webhooks]]\nurl = \"http://127.0.0.1:9/hooks\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\n"
);
