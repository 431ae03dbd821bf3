//! OpenID Connect providers for the SSO tests, each a Node process on a free loopback port
//! that lives as long as its handle:
//!
//! - [`OidcProvider`]: the certified npm `oidc-provider` (tests/oidc_provider/provider.mjs),
//!   with test accounts, clients registered over RFC 7591 dynamic registration, and a
//!   sign-in form the [`HttpBrowser`] fills in.
//! - [`EvilProvider`]: tests/oidc_provider/evil.mjs, which answers like a provider but
//!   crafts ID tokens that break one rule each (another issuer, another key, `alg: none`…).
//!
//! `npm ci` installs the pinned packages into tests/oidc_provider/node_modules on first use
//! (and `.ci/run` does it up front). `node` comes from `PATH` or `IDP_SYNC_TEST_NODE`.
//!
//! [`HttpBrowser`] is a minimal browser over reqwest (the page tests drive a real Chromium,
//! `support::browser`; the OIDC tests need only HTTP): a cookie jar per origin, redirects
//! followed one hop at a time, so tests can stop at the IdP or at the callback.

pub use super::scripted_browser::{HttpBrowser, redirect_target as location};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

static NODE_MODULES: OnceLock<Result<(), String>> = OnceLock::new();

fn source_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc_provider")
}

fn node() -> String {
    std::env::var("IDP_SYNC_TEST_NODE").unwrap_or_else(|_| "node".to_owned())
}

/// Runs `npm ci` once per test process when `oidc-provider` is not installed yet.
fn ensure_node_modules() {
    let result = NODE_MODULES.get_or_init(|| {
        let dir = source_dir();
        if dir.join("node_modules/oidc-provider/package.json").exists() {
            return Ok(());
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("cannot run npm (install nodejs and npm): {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("npm ci in {} failed: {status}", dir.display()))
        }
    });
    if let Err(e) = result {
        panic!("test OIDC provider: {e}");
    }
}

/// Starts `script` with `options` and reads the issuer from its first stdout line.
async fn spawn(script: &str, options: &Value) -> (Child, String) {
    tokio::task::spawn_blocking(ensure_node_modules)
        .await
        .expect("npm ci task");
    let verbose = std::env::var_os("IDP_SYNC_TEST_VERBOSE").is_some();
    let mut child = Command::new(node())
        .arg(source_dir().join(script))
        .arg(options.to_string())
        .current_dir(source_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if verbose {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("start {script} with node: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{script} did not start within 30 s"))
        .expect("read stdout")
        .unwrap_or_else(|| panic!("{script} exited before it listened"));
    let issuer = serde_json::from_str::<Value>(&line)
        .ok()
        .and_then(|v| v["issuer"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{script} printed {line:?}, not its issuer"));
    (child, issuer)
}

/// A person who can sign in at a test provider.
#[derive(Clone, Debug)]
pub struct Account {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
}

impl Account {
    pub fn new(sub: &str, email: &str, name: &str, groups: &[&str]) -> Self {
        Self {
            sub: sub.to_owned(),
            email: email.to_owned(),
            name: name.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn to_json(&self) -> Value {
        let (given, family) = self.name.split_once(' ').unwrap_or((&self.name, ""));
        json!({"sub": self.sub, "email": self.email, "name": self.name,
               "given_name": given, "family_name": family, "groups": self.groups})
    }
}

/// The npm `oidc-provider`, running.
pub struct OidcProvider {
    pub issuer: String,
    _child: Child,
}

impl OidcProvider {
    /// `id_token_claims`: the ID token carries email and groups; else only userinfo does.
    pub async fn start(accounts: &[Account], id_token_claims: bool) -> Self {
        let accounts: Vec<Value> = accounts.iter().map(Account::to_json).collect();
        let options = json!({"accounts": accounts, "id_token_claims": id_token_claims});
        let (child, issuer) = spawn("provider.mjs", &options).await;
        Self {
            issuer,
            _child: child,
        }
    }

    /// Registers a confidential client (RFC 7591) for `redirect_uri`.
    pub async fn register_client(
        &self,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        token_auth_method: &str,
    ) {
        let body = json!({
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": token_auth_method,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        });
        let res = reqwest::Client::new()
            .post(format!("{}/reg", self.issuer))
            .json(&body)
            .send()
            .await
            .expect("register client");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::CREATED, "client registration: {text}");
    }
}

/// The crafted-token provider ([module docs](self)), running.
pub struct EvilProvider {
    pub issuer: String,
    _child: Child,
}

impl EvilProvider {
    /// `mode` is one of evil.mjs's modes; tokens are issued for `client_id` (except in
    /// `wrong-audience`) about `account`.
    pub async fn start(mode: &str, client_id: &str, account: &Account) -> Self {
        let options = json!({"mode": mode, "client_id": client_id, "account": account.to_json()});
        let (child, issuer) = spawn("evil.mjs", &options).await;
        Self {
            issuer,
            _child: child,
        }
    }
}
