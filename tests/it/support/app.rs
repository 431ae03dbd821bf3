//! `TestApp`: the real router served on a port-0 listener in this process, over a fresh
//! database of either engine, with a config written to a temp file (secrets through an
//! injected environment). SCIM, admin and SSO tests talk to it over real HTTP.

use super::TestDb;
use idp_sync::config::{ConfigHandle, Env};
use idp_sync::http::{self, AppState};
use idp_sync::store::Engine;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

/// SCIM bearer tokens of the test connections.
pub const OKTA_TOKEN: &str = "okta-test-token-0123456789";
pub const ENTRA_TOKEN: &str = "entra-test-token-0123456789";
/// The admin API token of the test config (role Administrator, name "ops").
pub const ADMIN_TOKEN: &str = "admin-test-token-0123456789";
/// An admin API token with the role Manager (name "lead").
pub const MANAGER_TOKEN: &str = "manager-test-token-0123456789";

/// An OIDC client secret the tests' configs may name (`client_secret_env = "TEST_OIDC_SECRET"`).
pub const OIDC_SECRET: &str = "oidc-test-secret-0123456789";

/// The policy every app test starts from; tests append their own TOML.
pub const BASE_POLICY: &str = r#"
[[organizations]]
slug = "acme"
name = "Acme Corp"
[[organizations]]
slug = "acme-east"
name = "Acme East"
parent = "acme"
[[organizations]]
slug = "globex"
name = "Globex"

[[connections]]
id = "okta"
kind = "okta"
[connections.scim]
token_env = "TEST_OKTA_SCIM_TOKEN"
rate_limit_per_second = 100000

[[connections]]
id = "entra"
kind = "entra"
[connections.scim]
token_env = "TEST_ENTRA_SCIM_TOKEN"
rate_limit_per_second = 100000

[[admin_tokens]]
name = "ops"
role = "Administrator"
token_env = "TEST_ADMIN_TOKEN"

[[admin_tokens]]
name = "lead"
role = "Manager"
token_env = "TEST_MANAGER_TOKEN"

[[mappings]]
connection = "okta"
idp_group = "Engineering"
role = "Editor"
organizations = ["acme", "acme-east"]

[[mappings]]
connection = "entra"
idp_group = "Engineering"
role = "Editor"
organizations = ["acme"]
"#;

pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    /// The running config (tests that reload change it through this).
    #[allow(dead_code)]
    pub config: ConfigHandle,
    pub http: reqwest::Client,
    /// The state the router serves (for tests that call handlers' helpers directly).
    #[allow(dead_code)]
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Serves the base policy plus `extra_toml` on a fresh database of `engine`.
    pub async fn spawn(engine: Engine, extra_toml: &str) -> TestApp {
        let db = TestDb::migrated(engine).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let text = format!(
            "version = 1\n[server]\nlisten = \"{addr}\"\npublic_url = \"{base}\"\n\
             [database]\nurl = \"{}\"\n{BASE_POLICY}\n{extra_toml}",
            db.url
        );
        let path = dir.path().join("idp-sync.toml");
        std::fs::write(&path, text).expect("write config");
        let env = Env::from_map([
            ("TEST_OKTA_SCIM_TOKEN", OKTA_TOKEN),
            ("TEST_ENTRA_SCIM_TOKEN", ENTRA_TOKEN),
            ("TEST_ADMIN_TOKEN", ADMIN_TOKEN),
            ("TEST_MANAGER_TOKEN", MANAGER_TOKEN),
            ("TEST_OIDC_SECRET", OIDC_SECRET),
            ("TEST_WEBHOOK_SECRET", "whsec-test-0123456789"),
        ]);
        let config = ConfigHandle::load(&path, env).unwrap_or_else(|e| panic!("test config:\n{e}"));
        let state = AppState::new(db.store.clone(), config.clone());
        let router = http::router(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        TestApp {
            db,
            base,
            config,
            http: reqwest::Client::new(),
            state,
            server,
            _dir: dir,
        }
    }

    /// A SCIM request to `/scim/v2{path}` authenticated as `token`.
    pub fn scim(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
    }

    /// An admin API GET of `/admin/v1{path}` with `token`; returns status and JSON body.
    pub async fn admin_get(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}/admin/v1{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        (status, res.json().await.expect("json body"))
    }

    /// An admin API POST of `/admin/v1{path}` with a JSON body; returns status and body
    /// (`null` for an empty one).
    #[allow(dead_code)]
    pub async fn admin_post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/admin/v1{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }

    /// Sends a SCIM request with a JSON body (or none) and returns status and body.
    pub async fn scim_json(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.scim(token, method, path);
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `both_engines_app!(name, "extra toml")` turns `async fn name(app: TestApp)` into the tests
/// `name::sqlite` and `name::postgres`.
macro_rules! both_engines_app {
    ($name:ident) => {
        $crate::support::app::both_engines_app!($name, "");
    };
    ($name:ident, $extra:expr) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::app::TestApp::spawn(Engine::Sqlite, $extra).await)
                    .await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name($crate::support::app::TestApp::spawn(Engine::Postgres, $extra).await)
                    .await;
            }
        }
    };
}
pub(crate) use both_engines_app;
