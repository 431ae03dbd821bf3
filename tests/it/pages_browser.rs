//! Pages in a real headless Chromium (support/browser.rs), on both engines: the emailed
//! invitation link, its expiry and renewal from the page, and the home page.

use crate::invitations::{Invited, invite_ana, mail_count, token_in};
use crate::support::browser::Browser;
use idp_sync::store::Engine;
use std::time::Duration;

async fn expired_link_renews_from_the_page(engine: Engine) {
    // Chromium first: it takes a while to start on a busy machine, and the link lasts 5 s.
    let browser = Browser::start().await;
    let Invited {
        smtp,
        app,
        worker,
        token: first,
        ..
    } = invite_ana(engine, "5s").await;

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

    // Expired: the same link now offers renewal.
    for _ in 0..100 {
        browser.client.refresh().await.expect("reload");
        if browser.text().await.contains("This invitation has expired") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
