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

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
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

/// A browser: cookies per origin (`scheme://host:port`), no automatic redirects.
pub struct HttpBrowser {
    http: reqwest::Client,
    cookies: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl Default for HttpBrowser {
    fn default() -> Self {
        Self::new()
    }
}

fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

impl HttpBrowser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::default(),
        }
    }

    fn cookie_header(&self, url: &reqwest::Url) -> Option<String> {
        let jar = self.cookies.lock().unwrap();
        let cookies = jar.get(&origin(url))?;
        (!cookies.is_empty()).then(|| {
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&self, url: &reqwest::Url, response: &Response) {
        let mut jar = self.cookies.lock().unwrap();
        let cookies = jar.entry(origin(url)).or_default();
        for header in response.headers().get_all(SET_COOKIE) {
            let text = header.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.to_ascii_lowercase().contains("max-age=0")
                    || text
                        .to_ascii_lowercase()
                        .contains("expires=thu, 01 jan 1970");
                if value.is_empty() || expired {
                    cookies.remove(name.trim());
                } else {
                    cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
    }

    /// The cookie `name` this browser holds for `url`'s origin.
    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(url).expect("url");
        self.cookies
            .lock()
            .unwrap()
            .get(&origin(&url))?
            .get(name)
            .cloned()
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Response {
        let parsed = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let request = match self.cookie_header(&parsed) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        self.keep_cookies(&parsed, &response);
        response
    }

    pub async fn get(&self, url: &str) -> Response {
        self.send(url, self.http.get(url)).await
    }

    /// GET asking for JSON (`Accept: application/json`).
    pub async fn get_json(&self, url: &str) -> Response {
        self.send(url, self.http.get(url).header("accept", "application/json"))
            .await
    }

    pub async fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Response {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(url, request).await
    }

    /// Follows redirects from `url` until a response is not a redirect or its target
    /// starts with `stop_at`; returns that response's URL and the response.
    pub async fn follow(&self, url: &str, stop_at: &str) -> (String, Response) {
        let mut url = url.to_owned();
        for _ in 0..20 {
            let response = self.get(&url).await;
            let Some(next) = location(&url, &response) else {
                return (url, response);
            };
            if next.starts_with(stop_at) {
                return (next, response);
            }
            url = next;
        }
        panic!("more than 20 redirects from {url}");
    }
}

/// The absolute target of a redirect response, if it is one.
pub fn location(from: &str, response: &Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    let target = response.headers().get(LOCATION)?.to_str().ok()?;
    let base = reqwest::Url::parse(from).ok()?;
    Some(base.join(target).ok()?.to_string())
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
