//! OpenID Connect sign-in (issue 5) against real providers started by the tests
//! (support::oidc_provider): the protocol layer alone ([`protocol`]), and the routes
//! `/sso/oidc/{connection}/login` and `/callback` end to end on both engines ([`login`],
//! [`refusals`]), and the invitation flow in a real Chromium ([`chromium`]).

mod chromium;
mod login;
mod protocol;
mod refusals;

use crate::support::app::{OIDC_SECRET, TestApp};
use crate::support::oidc_provider::{HttpBrowser, location};
use idp_sync::store::{AuditQuery, Engine};
use reqwest::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The OIDC client id of the test connections.
pub const CLIENT_ID: &str = "idp-sync-test";
/// The SCIM token of the `acme` connection (only its digest is in the config).
pub const ACME_SCIM_TOKEN: &str = "acme-scim-token-0123456789";

/// A connection `id` that signs in with OIDC at `issuer` (client secret `OIDC_SECRET`),
/// with SCIM when `scim`, just-in-time users when `jit`, and a mapping of the IdP group
/// `Engineering` to Editor of `acme`.
pub fn connection_toml(id: &str, issuer: &str, scim: bool, jit: bool, auth: &str) -> String {
    let scim = if scim {
        format!(
            "[connections.scim]\ntoken_sha256 = \"{}\"\n",
            hex::encode(Sha256::digest(ACME_SCIM_TOKEN))
        )
    } else {
        String::new()
    };
    format!(
        r#"
[[connections]]
id = "{id}"
kind = "okta"
jit = {jit}
{scim}
[connections.oidc]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret_env = "TEST_OIDC_SECRET"
scopes = ["openid", "email", "profile", "groups"]
token_auth_method = "{auth}"

[[mappings]]
connection = "{id}"
idp_group = "Engineering"
role = "Editor"
organizations = ["acme"]
"#
    )
}

/// The app with one OIDC connection `id` (see [`connection_toml`]).
pub async fn app_with(engine: Engine, id: &str, issuer: &str, scim: bool, jit: bool) -> TestApp {
    TestApp::spawn(
        engine,
        &connection_toml(id, issuer, scim, jit, "client_secret_basic"),
    )
    .await
}

pub fn redirect_uri(app: &TestApp, connection: &str) -> String {
    format!("{}/sso/oidc/{connection}/callback", app.base)
}

/// The secret the provider registers the client with.
pub fn client_secret() -> &'static str {
    OIDC_SECRET
}

/// Starts a login at `connection` and follows the redirects until the provider shows its
/// sign-in form (returns its URL) or sends the browser back to the callback (returns the
/// callback URL, not yet requested).
pub async fn start_login(
    browser: &HttpBrowser,
    app: &TestApp,
    connection: &str,
    return_to: &str,
) -> String {
    let start = format!(
        "{}/sso/oidc/{connection}/login?return_to={return_to}",
        app.base
    );
    let response = browser.get(&start).await;
    assert_eq!(response.status(), 303, "login: {:?}", response.text().await);
    let idp = location(&start, &response).expect("redirect to the IdP");
    browser.follow(&idp, &redirect_uri(app, connection)).await.0
}

/// Signs `sub` in at the provider's form at `form_url`; returns the callback URL.
pub async fn submit_login(
    browser: &HttpBrowser,
    app: &TestApp,
    connection: &str,
    form_url: &str,
    sub: &str,
) -> String {
    let action = format!("{form_url}/login");
    let response = browser.post_form(&action, &[("login", sub)]).await;
    let next = location(&action, &response)
        .unwrap_or_else(|| panic!("no redirect after signing in: {}", response.status()));
    browser
        .follow(&next, &redirect_uri(app, connection))
        .await
        .0
}

/// Asserts a refusal answered in JSON: status and code, and its `sso.refused` audit event.
pub async fn assert_refused(app: &TestApp, response: Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    assert!(
        response.headers().get("set-cookie").is_none_or(|c| !c
            .to_str()
            .unwrap_or_default()
            .starts_with("idp_sync_session=")),
        "a refusal starts no session"
    );
    let body: Value = response.json().await.expect("JSON refusal");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let events = app
        .db
        .store
        .list_audit(&AuditQuery {
            kind: Some("sso.refused".to_owned()),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
        .expect("audit");
    assert!(
        events
            .iter()
            .any(|e| e.detail["code"] == code && e.detail["status"] == status),
        "no sso.refused event with {code}: {events:?}"
    );
}

/// `on_both_engines!(name)` turns `async fn name(engine: Engine)` into the tests
/// `name::sqlite` and `name::postgres` (the test starts its providers, then the app).
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test]
            async fn sqlite() {
                super::$name(Engine::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name(Engine::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both_engines;
