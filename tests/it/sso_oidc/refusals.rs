//! Each refusal of issue 5's OIDC list is its own test, on both engines: the answer's
//! status and stable code, and the `sso.refused` audit event. What a correct provider can
//! produce (state, replayed code) is driven through the npm `oidc-provider`; forged tokens
//! come from the crafted-token provider (tests/oidc_provider/evil.mjs).

use super::{
    CLIENT_ID, app_with, assert_refused, client_secret, on_both_engines, redirect_uri, start_login,
    submit_login,
};
use crate::support::app::TestApp;
use crate::support::oidc_provider::{Account, EvilProvider, HttpBrowser, OidcProvider, location};
use idp_sync::store::Engine;

fn ana() -> Account {
    Account::new("00u-ana", "ana@acme.com", "Ana Lima", &["Engineering"])
}

/// The npm provider and a JIT app registered at it; the browser is at the callback with a
/// good code and state (not yet requested).
async fn signed_in_at_idp(engine: Engine) -> (OidcProvider, TestApp, HttpBrowser, String) {
    let provider = OidcProvider::start(&[ana()], true).await;
    let app = app_with(engine, "jit", &provider.issuer, false, true).await;
    provider
        .register_client(
            CLIENT_ID,
            client_secret(),
            &redirect_uri(&app, "jit"),
            "client_secret_basic",
        )
        .await;
    let browser = HttpBrowser::new();
    let form = start_login(&browser, &app, "jit", "/after").await;
    let callback = submit_login(&browser, &app, "jit", &form, "00u-ana").await;
    (provider, app, browser, callback)
}

/// `url` with its query parameter `name` set to `value` (removed when `None`).
fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != name)
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            query.append_pair(k, v);
        }
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    url.to_string()
}

fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

on_both_engines!(a_wrong_state_is_refused);
async fn a_wrong_state_is_refused(engine: Engine) {
    let (_provider, app, browser, callback) = signed_in_at_idp(engine).await;
    let forged = with_param(&callback, "state", Some("forged-state-0123456789"));
    assert_refused(&app, browser.get_json(&forged).await, 400, "OIDC-STATE").await;
}

on_both_engines!(a_state_from_another_browser_is_refused);
async fn a_state_from_another_browser_is_refused(engine: Engine) {
    let (_provider, app, browser, callback) = signed_in_at_idp(engine).await;
    // The callback carried to another browser (an attacker's login forced on a victim).
    let other = HttpBrowser::new();
    assert_refused(&app, other.get_json(&callback).await, 400, "OIDC-STATE").await;
    // The login was used up: the browser that started it cannot finish it either.
    assert_refused(&app, browser.get_json(&callback).await, 400, "OIDC-STATE").await;
}

on_both_engines!(a_missing_state_is_refused);
async fn a_missing_state_is_refused(engine: Engine) {
    let (_provider, app, browser, callback) = signed_in_at_idp(engine).await;
    let without = with_param(&callback, "state", None);
    assert_refused(&app, browser.get_json(&without).await, 400, "OIDC-STATE").await;
    // As a page: the code is shown to the person.
    let page = browser.get(&without).await;
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("OIDC-STATE"));
}

on_both_engines!(a_replayed_code_is_refused);
async fn a_replayed_code_is_refused(engine: Engine) {
    let (_provider, app, browser, callback) = signed_in_at_idp(engine).await;
    let first = browser.get(&callback).await;
    assert_eq!(first.status(), 303, "{:?}", first.text().await);
    // A new login in the same browser (the IdP remembers the person: straight back),
    // answered with the code of the first one.
    let second = start_login(&browser, &app, "jit", "/after").await;
    let state = param(&second, "state").expect("the IdP answered at once");
    let replay = with_param(&callback, "state", Some(&state));
    assert_refused(&app, browser.get_json(&replay).await, 400, "OIDC-CODE").await;
}

on_both_engines!(an_error_from_the_idp_is_refused);
async fn an_error_from_the_idp_is_refused(engine: Engine) {
    let provider = EvilProvider::start("good", CLIENT_ID, &ana()).await;
    let app = app_with(engine, "jit", &provider.issuer, false, true).await;
    let browser = HttpBrowser::new();
    let start = format!("{}/sso/oidc/jit/login", app.base);
    let response = browser.get(&start).await;
    let idp = location(&start, &response).expect("redirect to the IdP");
    let state = param(&idp, "state").unwrap();
    let callback = format!(
        "{}?error=access_denied&error_description=User+is+not+assigned&state={state}",
        redirect_uri(&app, "jit")
    );
    assert_refused(&app, browser.get_json(&callback).await, 400, "OIDC-ERROR").await;
    // Its login was used up: a code arriving later for that state is not accepted.
    let late = format!("{}?code=late&state={state}", redirect_uri(&app, "jit"));
    assert_refused(&app, browser.get_json(&late).await, 400, "OIDC-STATE").await;
}

/// A login against the crafted-token provider in `mode`, answered with `status`/`code`.
async fn forged(engine: Engine, mode: &str, status: u16, code: &str) {
    let provider = EvilProvider::start(mode, CLIENT_ID, &ana()).await;
    let app = app_with(engine, "jit", &provider.issuer, false, true).await;
    let browser = HttpBrowser::new();
    let callback = start_login(&browser, &app, "jit", "/after").await;
    assert!(
        callback.starts_with(&redirect_uri(&app, "jit")),
        "{callback}"
    );
    assert_refused(&app, browser.get_json(&callback).await, status, code).await;
}

on_both_engines!(the_crafted_provider_signs_in_when_nothing_is_wrong);
async fn the_crafted_provider_signs_in_when_nothing_is_wrong(engine: Engine) {
    // The refusals below differ from this only in the one rule each breaks.
    let provider = EvilProvider::start("good", CLIENT_ID, &ana()).await;
    let app = app_with(engine, "jit", &provider.issuer, false, true).await;
    let browser = HttpBrowser::new();
    let callback = start_login(&browser, &app, "jit", "/after").await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    assert!(browser.cookie(&app.base, "idp_sync_session").is_some());
}

on_both_engines!(a_token_from_another_issuer_is_refused);
async fn a_token_from_another_issuer_is_refused(engine: Engine) {
    forged(engine, "other-issuer", 401, "OIDC-ISSUER").await;
}

on_both_engines!(a_token_signed_with_another_key_is_refused);
async fn a_token_signed_with_another_key_is_refused(engine: Engine) {
    forged(engine, "wrong-key", 401, "OIDC-SIGNATURE").await;
}

on_both_engines!(a_wrong_nonce_is_refused);
async fn a_wrong_nonce_is_refused(engine: Engine) {
    forged(engine, "wrong-nonce", 401, "OIDC-NONCE").await;
}

on_both_engines!(a_token_for_another_audience_is_refused);
async fn a_token_for_another_audience_is_refused(engine: Engine) {
    forged(engine, "wrong-audience", 401, "OIDC-AUDIENCE").await;
}

on_both_engines!(an_unsigned_alg_none_token_is_refused);
async fn an_unsigned_alg_none_token_is_refused(engine: Engine) {
    forged(engine, "alg-none", 401, "OIDC-SIGNATURE").await;
}

on_both_engines!(an_expired_token_is_refused);
async fn an_expired_token_is_refused(engine: Engine) {
    forged(engine, "expired", 401, "OIDC-EXPIRED").await;
}

on_both_engines!(an_unreachable_idp_is_a_502_at_login);
async fn an_unreachable_idp_is_a_502_at_login(engine: Engine) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    // Start-up and readiness do not wait for the IdP.
    let app = app_with(engine, "jit", &issuer, false, true).await;
    let ready = HttpBrowser::new()
        .get(&format!("{}/readyz", app.base))
        .await;
    assert_eq!(ready.status(), 200);
    let browser = HttpBrowser::new();
    let login = browser
        .get_json(&format!("{}/sso/oidc/jit/login", app.base))
        .await;
    assert_refused(&app, login, 502, "OIDC-PROVIDER").await;
}

on_both_engines!(unknown_connections_and_connections_without_oidc_are_404);
async fn unknown_connections_and_connections_without_oidc_are_404(engine: Engine) {
    let app = app_with(engine, "jit", "http://127.0.0.1:9", false, true).await;
    let browser = HttpBrowser::new();
    for path in [
        "/sso/oidc/nope/login",
        "/sso/oidc/nope/callback?state=x&code=y",
        // The base config's okta connection has SCIM only.
        "/sso/oidc/okta/login",
    ] {
        let response = browser.get_json(&format!("{}{path}", app.base)).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "SSO-CONNECTION", "{path}");
    }
}

on_both_engines!(a_state_started_at_another_connection_is_refused);
async fn a_state_started_at_another_connection_is_refused(engine: Engine) {
    // Two connections trust different IdPs; a login started at `jit` is answered at
    // `other`'s callback (an IdP mix-up, or a link carried between connections).
    let provider = EvilProvider::start("good", CLIENT_ID, &ana()).await;
    let second = EvilProvider::start("good", CLIENT_ID, &ana()).await;
    let toml = format!(
        "{}{}",
        super::connection_toml("jit", &provider.issuer, false, true, "client_secret_basic"),
        super::connection_toml("other", &second.issuer, false, true, "client_secret_basic")
    );
    let app = TestApp::spawn(engine, &toml).await;
    let browser = HttpBrowser::new();
    let callback = start_login(&browser, &app, "jit", "/after").await;
    let elsewhere = callback.replace("/sso/oidc/jit/", "/sso/oidc/other/");
    assert_refused(&app, browser.get_json(&elsewhere).await, 400, "OIDC-STATE").await;
    // A repeated query key is no reason to fail a login: it starts, to `/`.
    let start = format!("{}/sso/oidc/jit/login?return_to=/a&return_to=/b", app.base);
    assert_eq!(browser.get(&start).await.status(), 303);
}
