//! Whole sign-ins through `/sso/oidc/{connection}/login` and `/callback`, from the first
//! redirect to `GET /session`, against the npm `oidc-provider`.

use super::{
    ACME_SCIM_TOKEN, CLIENT_ID, client_secret, connection_toml, on_both_engines, redirect_uri,
    start_login, submit_login,
};
use crate::support::app::TestApp;
use crate::support::oidc_provider::{Account, HttpBrowser, OidcProvider, location};
use idp_sync::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};

/// Signs in through the callback URL and returns `/session` as the browser sees it.
async fn finish_and_read_session(browser: &HttpBrowser, app: &TestApp, callback: &str) -> Value {
    let response = browser.get(callback).await;
    assert_eq!(response.status(), 303, "{:?}", response.text().await);
    assert_eq!(
        location(callback, &response).as_deref(),
        Some(format!("{}/after", app.base).as_str())
    );
    assert!(
        browser
            .cookie(&app.base, "idp_sync_session")
            .is_some_and(|c| c.len() == 43)
    );
    let response = browser.get_json(&format!("{}/session", app.base)).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("session JSON")
}

on_both_engines!(a_scim_user_signs_in_with_the_access_scim_gave);
async fn a_scim_user_signs_in_with_the_access_scim_gave(engine: Engine) {
    let ana = Account::new("00u-ana", "ana@acme.com", "Ana Lima", &["Engineering"]);
    let provider = OidcProvider::start(&[ana], true).await;
    let app = TestApp::spawn(
        engine,
        &connection_toml("acme", &provider.issuer, true, false, "client_secret_basic"),
    )
    .await;
    provider
        .register_client(
            CLIENT_ID,
            client_secret(),
            &redirect_uri(&app, "acme"),
            "client_secret_basic",
        )
        .await;

    // SCIM provisions Ana (externalId = the IdP's user id, which is also its `sub`) in
    // the mapped group: she is invited as an Editor of acme.
    let (status, user) = app
        .scim_json(
            ACME_SCIM_TOKEN,
            Method::POST,
            "/Users",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "ana@acme.com", "externalId": "00u-ana",
                        "emails": [{"value": "ana@acme.com", "primary": true}]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let (status, group) = app
        .scim_json(
            ACME_SCIM_TOKEN,
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering", "members": [{"value": id}]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{group}");

    let browser = HttpBrowser::new();
    let form = start_login(&browser, &app, "acme", "/after").await;
    assert!(form.starts_with(&provider.issuer), "the IdP's form: {form}");
    let callback = submit_login(&browser, &app, "acme", &form, "00u-ana").await;
    assert!(
        callback.starts_with(&redirect_uri(&app, "acme")),
        "{callback}"
    );
    let session = finish_and_read_session(&browser, &app, &callback).await;
    assert_eq!(session["user"]["id"], id.as_str(), "{session}");
    assert_eq!(session["user"]["state"], "active");
    assert_eq!(session["connection"], "acme");
    assert_eq!(session["access"]["role"], "Editor");
    assert_eq!(session["access"]["organizations"], json!(["acme"]));

    // The same callback again: its login was used up.
    let again = browser.get_json(&callback).await;
    super::assert_refused(&app, again, 400, "OIDC-STATE").await;
}

on_both_engines!(a_jit_user_is_created_with_the_groups_from_userinfo);
async fn a_jit_user_is_created_with_the_groups_from_userinfo(engine: Engine) {
    // oidc-provider's conformant default: the ID token of the code flow carries no scope
    // claims, so email and groups come from userinfo.
    let bo = Account::new(
        "00u-bo",
        "bo@acme.com",
        "Bo Berg",
        &["Engineering", "Other"],
    );
    let provider = OidcProvider::start(&[bo], false).await;
    let app = TestApp::spawn(
        engine,
        &connection_toml("jit", &provider.issuer, false, true, "client_secret_post"),
    )
    .await;
    provider
        .register_client(
            CLIENT_ID,
            client_secret(),
            &redirect_uri(&app, "jit"),
            "client_secret_post",
        )
        .await;

    let browser = HttpBrowser::new();
    let form = start_login(&browser, &app, "jit", "/after").await;
    let callback = submit_login(&browser, &app, "jit", &form, "00u-bo").await;
    let session = finish_and_read_session(&browser, &app, &callback).await;
    assert_eq!(session["user"]["email"], "bo@acme.com", "{session}");
    assert_eq!(session["user"]["state"], "active");
    assert_eq!(session["connection"], "jit");
    assert_eq!(session["access"]["role"], "Editor");
    assert_eq!(session["access"]["organizations"], json!(["acme"]));
}
