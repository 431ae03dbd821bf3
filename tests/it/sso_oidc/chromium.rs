//! The invitation flow of issue 5 in a real headless Chromium (support/browser.rs), on both
//! engines: open the emailed link, click "Sign in", sign in at the npm `oidc-provider`'s
//! form, and land signed in with the invited access.

use super::{ACME_SCIM_TOKEN, CLIENT_ID, client_secret, connection_toml, redirect_uri};
use crate::invitations::{mail_count, token_in};
use crate::outbox::{fast_options, start_worker};
use crate::support::app::TestApp;
use crate::support::browser::Browser;
use crate::support::oidc_provider::{Account, OidcProvider};
use crate::support::smtp::SmtpServer;
use idp_sync::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

async fn the_emailed_link_signs_in_through_the_idp(engine: Engine) {
    // Chromium first: it takes a while to start on a busy machine.
    let browser = Browser::start().await;
    let ana = Account::new("00u-ana", "ana@acme.com", "Ana Lima", &["Engineering"]);
    let provider = OidcProvider::start(&[ana], true).await;
    let smtp = SmtpServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let extra = format!(
        "[email]\nsmtp_url = \"smtp://{}?tls=none\"\nfrom = \"Acme Access <access@example.com>\"\n\
         application_name = \"Acme Docs\"\n{}",
        smtp.addr,
        connection_toml("acme", &provider.issuer, true, false, "client_secret_basic")
    );
    let app = TestApp::spawn(engine, &extra).await;
    provider
        .register_client(
            CLIENT_ID,
            client_secret(),
            &redirect_uri(&app, "acme"),
            "client_secret_basic",
        )
        .await;
    let worker = start_worker(app.db.store.clone(), &app.config, fast_options());

    // Okta provisions Ana into a mapped group: she is invited by email.
    let (status, user) = app
        .scim_json(
            ACME_SCIM_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "ana@acme.com", "externalId": "00u-ana", "displayName": "Ana Lima",
                        "emails": [{"value": "ana@acme.com", "primary": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let (status, _) = app
        .scim_json(
            ACME_SCIM_TOKEN,
            Method::POST,
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Engineering", "members": [{"value": user["id"]}]}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    mail_count(&smtp, 1).await;
    let token = token_in(&smtp.messages.lock().unwrap()[0].data, &app.base);

    // The link, the button, the IdP's form.
    browser
        .client
        .goto(&format!("{}/invitations/{token}", app.base))
        .await
        .expect("open the link");
    browser.wait_for_text("You are invited").await;
    browser
        .find("a.button[href^='/sso/oidc/acme/login']")
        .await
        .click()
        .await
        .expect("click Sign in");
    browser
        .find("input[name=login]")
        .await
        .send_keys("00u-ana")
        .await
        .expect("type the account");
    browser
        .find("button[type=submit]")
        .await
        .click()
        .await
        .expect("sign in at the IdP");

    // Back at idp-sync, signed in with the invited access.
    let text = browser.wait_for_text("You are signed in").await;
    assert!(
        text.contains("Editor") && text.contains("Acme Corp"),
        "{text}"
    );
    browser
        .client
        .goto(&format!("{}/session", app.base))
        .await
        .expect("open /session");
    let session: Value = serde_json::from_str(&browser.wait_for_text("\"access\"").await)
        .expect("the session as JSON");
    assert_eq!(session["user"]["state"], "active", "{session}");
    assert_eq!(session["access"]["role"], "Editor");
    assert_eq!(session["access"]["organizations"], json!(["acme"]));

    browser.close().await;
    worker.stop().await;
}

#[tokio::test]
async fn the_emailed_link_signs_in_through_the_idp_sqlite() {
    the_emailed_link_signs_in_through_the_idp(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_emailed_link_signs_in_through_the_idp_postgres() {
    the_emailed_link_signs_in_through_the_idp(Engine::Postgres).await;
}
