//! End to end: the real `idp-sync` binary on port 0 with a temp SQLite file — probes,
//! metrics, reload on SIGHUP (valid and invalid files), and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running daemon whose JSON log lines are collected from stderr.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<serde_json::Value>,
    seen: Vec<serde_json::Value>,
    /// How many of `seen` earlier waits have gone past.
    consumed: usize,
    base: String,
}

impl Daemon {
    fn start(config: &Path, cwd: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idp-sync"));
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .current_dir(cwd)
            .env("IDP_SYNC_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start idp-sync");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "raw": line }));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon {
            child,
            lines: rx,
            seen: Vec::new(),
            consumed: 0,
            base: String::new(),
        };
        let listening = daemon.wait_for(|l| l["message"] == "listening");
        let addr = listening["addr"].as_str().expect("addr field").to_owned();
        daemon.base = format!("http://{addr}");
        daemon
    }

    /// Waits up to 15 s for a log line matching `pred`, after the line the previous wait
    /// matched: log lines are consumed in order, so a wait never matches an old line.
    fn wait_for(&mut self, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        if let Some(offset) = self.seen[self.consumed..].iter().position(&pred) {
            self.consumed += offset + 1;
            return self.seen[self.consumed - 1].clone();
        }
        self.consumed = self.seen.len();
        let deadline = Instant::now() + Duration::from_secs(15);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    self.consumed = self.seen.len();
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        panic!("log line not seen; the daemon said:\n{:#?}", self.seen);
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.text().await.expect("body"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replaces a file the way editors and config management do (write aside, rename over), so
/// the daemon's file watcher never reads a half-written file.
fn replace_file(path: &Path, text: &str) {
    let aside = path.with_extension("tmp");
    std::fs::write(&aside, text).expect("write");
    std::fs::rename(&aside, path).expect("rename");
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn minimal_config(db: &Path, orgs: &[&str]) -> String {
    let mut text = format!(
        r#"version = 1
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:8080"
[database]
url = "sqlite://{}"
"#,
        db.display()
    );
    for org in orgs {
        text.push_str(&format!(
            "[[organizations]]\nslug = \"{org}\"\nname = \"{org}\"\n"
        ));
    }
    text.push_str(
        r#"[[connections]]
id = "okta"
kind = "okta"
[connections.scim]
token_env = "E2E_UNSET_SCIM_TOKEN"
[[mappings]]
connection = "okta"
idp_group = "Engineering"
role = "Editor"
organizations = ["acme"]
"#,
    );
    text
}

#[tokio::test]
async fn serves_probes_reloads_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/dir/idp-sync.db");
    let config = dir.path().join("idp-sync.toml");
    std::fs::write(&config, minimal_config(&db, &["acme"])).expect("write config");

    let mut daemon = Daemon::start(&config, dir.path(), &[]);
    assert!(
        db.exists(),
        "the SQLite file and its directories are created"
    );

    let (status, body) = daemon.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon.get("/no-such-route").await;
    assert_eq!(status, 404);
    assert!(body.contains("NOT-FOUND"), "{body}");
    let (status, metrics) = daemon.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("idp_sync_build_info"), "{metrics}");
    assert!(
        metrics.contains("idp_sync_http_requests_total"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"route="/healthz""#), "{metrics}");
    assert!(
        metrics.contains("idp_sync_db_pool_connections"),
        "{metrics}"
    );
    assert!(
        metrics.contains("idp_sync_http_request_duration_seconds_bucket"),
        "{metrics}"
    );

    // A changed valid file is applied on SIGHUP (or by the file watcher, whichever is first).
    replace_file(&config, &minimal_config(&db, &["acme", "globex"]));
    daemon.signal("HUP");
    daemon.wait_for(|l| l["message"] == "config.reloaded");

    // An invalid file is refused; the daemon keeps serving on the old config.
    replace_file(&config, "version = 1\n[server]\nlisten = 12\n");
    daemon.signal("HUP");
    let refused = daemon.wait_for(|l| l["message"] == "config.reload_refused");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap_or("")
            .contains("server.listen"),
        "{refused}"
    );
    let (status, _) = daemon.get("/readyz").await;
    assert_eq!(status, 200);
    let (_, metrics) = daemon.get("/metrics").await;
    assert!(
        metrics.contains(r#"idp_sync_config_reloads_total{result="applied"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"idp_sync_config_reloads_total{result="invalid"}"#),
        "{metrics}"
    );

    // SIGTERM: a clean exit, well within 10 s.
    let started = Instant::now();
    daemon.signal("TERM");
    let status = loop {
        if let Some(status) = daemon.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not exit within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
    daemon.wait_for(|l| l["message"] == "stopped");

    // The reloads are in the audit log, newest first, readable by the CLI.
    replace_file(&config, &minimal_config(&db, &["acme"]));
    let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(["audit", "--json", "--config"])
        .arg(&config)
        .output()
        .expect("run audit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json line")["kind"].to_string()
        })
        .collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("\"config.reload_refused\""),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| k == "\"config.reloaded\""),
        "{kinds:?}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(["users", "list", "--config"])
        .arg(&config)
        .output()
        .expect("run users list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn example_config_serves_with_no_secrets_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/example.db", dir.path().display());
    let root = repo_root();
    let daemon = Daemon::start(
        &root.join("config/idp-sync.example.toml"),
        &root,
        &[
            ("IDP_SYNC__SERVER__LISTEN", "127.0.0.1:0"),
            ("IDP_SYNC__DATABASE__URL", db.as_str()),
        ],
    );
    let (status, _) = daemon.get("/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = daemon.get("/readyz").await;
    assert_eq!(status, 200);
}

#[test]
fn check_config_names_every_broken_key_and_fails() {
    let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(["check-config", "tests/fixtures/config/broken.toml"])
        .current_dir(repo_root())
        .output()
        .expect("run check-config");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems = stderr.lines().filter(|l| l.contains(": ")).count();
    assert!(problems >= 5, "expected every problem listed:\n{stderr}");

    let ok = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(["check-config", "config/idp-sync.example.toml"])
        .current_dir(repo_root())
        .output()
        .expect("run check-config");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    for sub in [
        "serve",
        "check-config",
        "migrate",
        "plan",
        "users list",
        "users show",
        "audit",
    ] {
        let mut args: Vec<&str> = sub.split(' ').collect();
        args.push("--help");
        let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
            .args(&args)
            .output()
            .expect("run --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{sub} --help failed");
        assert!(
            text.contains("Example"),
            "{sub} --help has no example:\n{text}"
        );
    }
}

const E2E_SCIM_TOKEN: &str = "e2e-scim-token-0123456789";
const E2E_ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

fn reload_config(
    db: &Path,
    orgs: &[&str],
    mapping_orgs: Option<&str>,
    mass_threshold: f64,
) -> String {
    let mut text = format!(
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [database]\nurl = \"sqlite://{}\"\n[removal]\nmass_threshold = {mass_threshold}\nmass_minimum = 10\n\
         [[admin_tokens]]\nname = \"ops\"\nrole = \"Administrator\"\ntoken_env = \"E2E_ADMIN_TOKEN\"\n",
        db.display()
    );
    for org in orgs {
        text.push_str(&format!(
            "[[organizations]]\nslug = \"{org}\"\nname = \"{org}\"\n"
        ));
    }
    text.push_str("[[connections]]\nid = \"okta\"\nkind = \"okta\"\n[connections.scim]\ntoken_env = \"E2E_SCIM_TOKEN\"\n");
    if let Some(orgs) = mapping_orgs {
        text.push_str(&format!(
            "[[mappings]]\nconnection = \"okta\"\nidp_group = \"Engineering\"\nrole = \"Editor\"\norganizations = {orgs}\n"
        ));
    }
    text
}

async fn organizations_of(daemon: &Daemon, user: &str) -> serde_json::Value {
    let res = reqwest::Client::new()
        .get(format!("{}/admin/v1/users/{user}", daemon.base))
        .bearer_auth(E2E_ADMIN_TOKEN)
        .send()
        .await
        .expect("admin");
    let body: serde_json::Value = res.json().await.expect("json");
    body["access"]["organizations"].clone()
}

#[tokio::test]
async fn reloads_recompute_access_and_refuse_mass_removals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("idp-sync.db");
    let config = dir.path().join("idp-sync.toml");
    std::fs::write(
        &config,
        reload_config(&db, &["acme", "globex"], Some("[\"acme\"]"), 0.2),
    )
    .expect("write");
    let mut daemon = Daemon::start(
        &config,
        dir.path(),
        &[
            ("E2E_SCIM_TOKEN", E2E_SCIM_TOKEN),
            ("E2E_ADMIN_TOKEN", E2E_ADMIN_TOKEN),
        ],
    );

    // Twelve people in the mapped group.
    let http = reqwest::Client::new();
    let scim = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, format!("{}/scim/v2{path}", daemon.base))
            .bearer_auth(E2E_SCIM_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let mut ids = Vec::new();
    for i in 0..12 {
        let res = scim(
            reqwest::Method::POST,
            "/Users",
            serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("p{i}@acme.com") }),
        )
        .send()
        .await
        .expect("create");
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.expect("json");
        ids.push(serde_json::json!({ "value": body["id"] }));
    }
    let res = scim(
        reqwest::Method::POST,
        "/Groups",
        serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": ids }),
    )
    .send()
    .await
    .expect("group");
    assert_eq!(res.status(), 201);
    let first = ids[0]["value"].as_str().expect("id").to_owned();
    assert_eq!(
        organizations_of(&daemon, &first).await,
        serde_json::json!(["acme"])
    );

    // `*` includes an organization the reload adds.
    replace_file(
        &config,
        &reload_config(&db, &["acme", "globex", "initech"], Some("[\"*\"]"), 0.2),
    );
    daemon.signal("HUP");
    daemon.wait_for(|l| l["message"] == "access recomputed under the new config");
    assert_eq!(
        organizations_of(&daemon, &first).await,
        serde_json::json!(["acme", "globex", "initech"])
    );

    // Removing the mapping would take access from all twelve: refused, and nothing changes.
    replace_file(
        &config,
        &reload_config(&db, &["acme", "globex", "initech"], None, 0.2),
    );
    daemon.signal("HUP");
    let refused = daemon.wait_for(|l| {
        l["message"] == "config.reload_refused"
            && l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("mass removal"))
    });
    assert!(
        refused["reason"]
            .as_str()
            .unwrap_or("")
            .contains("12 of the 12 users"),
        "{refused}"
    );
    assert_eq!(
        organizations_of(&daemon, &first).await,
        serde_json::json!(["acme", "globex", "initech"])
    );

    // With a threshold that allows it, the same change applies.
    replace_file(
        &config,
        &reload_config(&db, &["acme", "globex", "initech"], None, 1.0),
    );
    daemon.signal("HUP");
    daemon.wait_for(|l| {
        l["message"] == "access recomputed under the new config" && l["changed"] == 12
    });
    assert!(organizations_of(&daemon, &first).await.is_null());
}

/// The config of the held-reload scenario: twenty people with access through two mapped
/// groups; `with_sales = false` drops the second mapping (half of them would lose access).
fn held_reload_config(db_url: &str, with_sales: bool) -> String {
    let mut text = format!(
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [database]\nurl = \"{db_url}\"\n[removal]\nmass_threshold = 0.2\nmass_minimum = 10\n\
         [[admin_tokens]]\nname = \"ops\"\nrole = \"Administrator\"\ntoken_env = \"E2E_ADMIN_TOKEN\"\n\
         [[organizations]]\nslug = \"acme\"\nname = \"Acme\"\n\
         [[connections]]\nid = \"okta\"\nkind = \"okta\"\n[connections.scim]\ntoken_env = \"E2E_SCIM_TOKEN\"\n\
         [[mappings]]\nconnection = \"okta\"\nidp_group = \"Engineering\"\nrole = \"Editor\"\norganizations = [\"acme\"]\n"
    );
    if with_sales {
        text.push_str(
            "[[mappings]]\nconnection = \"okta\"\nidp_group = \"Sales\"\nrole = \"Read-only\"\norganizations = [\"acme\"]\n",
        );
    }
    text
}

/// Runs the real CLI against the same config; returns stdout, panicking on failure.
fn cli(config: &Path, cwd: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_idp-sync"))
        .args(args)
        .arg("--config")
        .arg(config)
        .current_dir(cwd)
        .env("IDP_SYNC_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
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

/// DESIGN §3: a config reload that would remove 50% of the users is refused with how many
/// and how to approve; `idp-sync removals approve --reload` applies it (the daemon sees the
/// approval in the database).
async fn held_reload_is_applied_by_removals_approve(db_url: String, dir: tempfile::TempDir) {
    let config = dir.path().join("idp-sync.toml");
    std::fs::write(&config, held_reload_config(&db_url, true)).expect("write");
    let mut daemon = Daemon::start(
        &config,
        dir.path(),
        &[
            ("E2E_SCIM_TOKEN", E2E_SCIM_TOKEN),
            ("E2E_ADMIN_TOKEN", E2E_ADMIN_TOKEN),
        ],
    );
    let http = reqwest::Client::new();
    let scim = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, format!("{}/scim/v2{path}", daemon.base))
            .bearer_auth(E2E_SCIM_TOKEN)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
    };
    let mut groups = [Vec::new(), Vec::new()];
    for i in 0..20 {
        let res = scim(
            reqwest::Method::POST,
            "/Users",
            serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("p{i}@acme.com") }),
        )
        .send()
        .await
        .expect("create");
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.expect("json");
        groups[i % 2].push(serde_json::json!({ "value": body["id"] }));
    }
    for (name, members) in [("Engineering", &groups[0]), ("Sales", &groups[1])] {
        let res = scim(
            reqwest::Method::POST,
            "/Groups",
            serde_json::json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members }),
        )
        .send()
        .await
        .expect("group");
        assert_eq!(res.status(), 201);
    }
    let engineer = groups[0][0]["value"].as_str().expect("id").to_owned();
    let seller = groups[1][0]["value"].as_str().expect("id").to_owned();
    assert_eq!(
        organizations_of(&daemon, &seller).await,
        serde_json::json!(["acme"])
    );

    // Dropping the Sales mapping would remove 10 of the 20: refused, with how to approve.
    replace_file(&config, &held_reload_config(&db_url, false));
    daemon.signal("HUP");
    let refused = daemon.wait_for(|l| {
        l["message"] == "config.reload_refused"
            && l["reason"]
                .as_str()
                .is_some_and(|r| r.contains("mass removal"))
    });
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("10 of the 20 users"), "{reason}");
    assert!(
        reason.contains("idp-sync removals approve --reload"),
        "{reason}"
    );
    assert_eq!(
        organizations_of(&daemon, &seller).await,
        serde_json::json!(["acme"])
    );

    let listed: serde_json::Value =
        serde_json::from_str(&cli(&config, dir.path(), &["removals", "list", "--json"]))
            .expect("json");
    assert_eq!(listed["held_reloads"][0]["removals"], 10, "{listed}");
    assert_eq!(listed["held_reloads"][0]["with_access"], 20, "{listed}");
    let text = cli(&config, dir.path(), &["removals", "list"]);
    assert!(text.contains("Held config reload"), "{text}");

    let approved = cli(&config, dir.path(), &["removals", "approve", "--reload"]);
    assert!(
        approved.contains("Approved the held config reload"),
        "{approved}"
    );
    daemon.wait_for(|l| {
        l["message"] == "access recomputed under the new config" && l["changed"] == 10
    });
    assert!(organizations_of(&daemon, &seller).await.is_null());
    assert_eq!(
        organizations_of(&daemon, &engineer).await,
        serde_json::json!(["acme"])
    );
    let audit = cli(
        &config,
        dir.path(),
        &["audit", "--type", "config.reload_approved", "--json"],
    );
    assert!(audit.contains("cli:"), "{audit}");
    // Nothing is left held.
    let listed: serde_json::Value =
        serde_json::from_str(&cli(&config, dir.path(), &["removals", "list", "--json"]))
            .expect("json");
    assert_eq!(listed["held_reloads"], serde_json::json!([]), "{listed}");

    // Edited while the daemon is down, the config would now remove every engineer: at
    // start everything else is applied and those removals wait for approval.
    drop(daemon);
    let without_engineering = held_reload_config(&db_url, false).replace(
        "[[mappings]]\nconnection = \"okta\"\nidp_group = \"Engineering\"\nrole = \"Editor\"\norganizations = [\"acme\"]\n",
        "",
    );
    std::fs::write(&config, without_engineering).expect("write");
    let mut daemon = Daemon::start(
        &config,
        dir.path(),
        &[
            ("E2E_SCIM_TOKEN", E2E_SCIM_TOKEN),
            ("E2E_ADMIN_TOKEN", E2E_ADMIN_TOKEN),
        ],
    );
    daemon.wait_for(|l| l["message"] == "access recomputed at start");
    let listed: serde_json::Value =
        serde_json::from_str(&cli(&config, dir.path(), &["removals", "list", "--json"]))
            .expect("json");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 10, "{listed}");
    assert!(items.iter().all(|r| r["kind"] == "mass"));
    assert_eq!(
        organizations_of(&daemon, &engineer).await,
        serde_json::json!(["acme"])
    );
    let approved = cli(&config, dir.path(), &["removals", "approve", "--all"]);
    assert!(approved.contains("10 applied"), "{approved}");
    assert!(organizations_of(&daemon, &engineer).await.is_null());
}

#[tokio::test]
async fn held_reload_is_applied_by_removals_approve_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("idp-sync.db").display());
    held_reload_is_applied_by_removals_approve(url, dir).await;
}

#[tokio::test]
async fn held_reload_is_applied_by_removals_approve_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = crate::support::postgres::fresh_database().await;
    held_reload_is_applied_by_removals_approve(url, dir).await;
}

/// xmlsec prints failed signature checks on stderr by itself; the daemon routes those lines
/// into its log (target `xmlsec`, debug) instead of letting raw text into the JSON stream.
#[tokio::test]
async fn xmlsec_error_output_goes_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = repo_root().join("tests/fixtures/saml/responses/idp-metadata.xml");
    let config = dir.path().join("idp-sync.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
             [database]\nurl = \"sqlite://{}\"\n[[connections]]\nid = \"okta\"\nkind = \"okta\"\n\
             [connections.saml]\nidp_metadata_file = \"{}\"\n",
            dir.path().join("db.sqlite").display(),
            metadata.display()
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&config, dir.path(), &[("RUST_LOG", "info,xmlsec=debug")]);
    let forged =
        std::fs::read(repo_root().join("tests/fixtures/saml/responses/other-key.xml")).unwrap();
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(forged);
    let res = reqwest::Client::new()
        .post(format!("{}/sso/saml/okta/acs", daemon.base))
        .form(&[("SAMLResponse", encoded.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let line = daemon.wait_for(|l| l["target"] == "xmlsec");
    assert_eq!(line["level"], "DEBUG");
    assert!(
        line["message"].as_str().unwrap().starts_with("func=xmlSec"),
        "{line}"
    );
    // The refusal is logged by the request, xmlsec's lines by the thread that reads its
    // stderr pipe: either may come first.
    if !daemon.seen.iter().any(|l| l["code"] == "SAML-SIGNATURE") {
        daemon.wait_for(|l| l["code"] == "SAML-SIGNATURE");
    }
    let raw: Vec<_> = daemon
        .seen
        .iter()
        .filter(|l| l.get("raw").is_some())
        .collect();
    assert!(raw.is_empty(), "lines outside the log format: {raw:?}");
}
