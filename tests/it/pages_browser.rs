//! Pages in a real headless Chromium (support/browser.rs), on both engines: the emailed
//! invitation link, its expiry and renewal from the page, and the home page.

use crate::invitations::{mail_count, token_in};
use crate::outbox::{fast_options, start_worker};
use crate::support::app::{OKTA_TOKEN, TestApp};
use crate::support::browser::Browser;
use crate::support::smtp::SmtpServer;
use idp_sync::store::Engine;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn expired_link_renews_from_the_page(engine: Engine) {
    let smtp = SmtpServer::start(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let extra = format!(
        "[email]\nsmtp_url = \"smtp://{}?tls=none\"\nfrom = \"Acme Access <access@example.com>\"\n\
         application_name = \"Acme Docs\"\ninvitation_ttl = \"2s\"\n",
        smtp.addr
    );
    let app = TestApp::spawn(engine, &extra).await;
    let worker = start_worker(app.db.store.clone(), &app.config, fast_options());
    let (status, user) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ana@acme.com",
                         "displayName": "Ana Lima", "emails": [{ "value": "ana@acme.com", "primary": true }] })),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Groups", Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [{ "value": user["id"] }] })))
        .await;
    assert_eq!(status, 201);
    mail_count(&smtp, 1).await;
    let first = token_in(&smtp.messages.lock().expect("lock")[0].data, &app.base);

    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{}/invitations/{first}", app.base))
        .await
        .expect("open the link");
    let text = browser.wait_for_text("You are invited").await;
    assert!(
        text.contains("Ana Lima") && text.contains("Editor") && text.contains("Acme East"),
        "{text}"
    );

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("This invitation has expired").await;
    browser
        .find("form button[type=submit]")
        .await
        .click()
        .await
        .expect("click renew");
    let text = browser.wait_for_text("a•••@acme.com").await;
    assert!(!text.contains("expired on"), "{text}");

    mail_count(&smtp, 2).await;
    let renewed = smtp.messages.lock().expect("lock")[1].clone();
    assert!(renewed.to[0].contains("ana@acme.com"), "{:?}", renewed.to);
    let second = token_in(&renewed.data, &app.base);
    browser
        .client
        .goto(&format!("{}/invitations/{second}", app.base))
        .await
        .expect("open the new link");
    browser.wait_for_text("You are invited").await;
    browser
        .client
        .goto(&format!("{}/invitations/{first}", app.base))
        .await
        .expect("open the old link");
    browser.wait_for_text("INVITATION-UNKNOWN").await;
    browser.close().await;
    worker.stop().await;
}

#[tokio::test]
async fn expired_link_renews_from_the_page_sqlite() {
    expired_link_renews_from_the_page(Engine::Sqlite).await;
}

#[tokio::test]
async fn expired_link_renews_from_the_page_postgres() {
    expired_link_renews_from_the_page(Engine::Postgres).await;
}
