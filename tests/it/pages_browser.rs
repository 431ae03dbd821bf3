//! Pages in a real headless Chromium (support/browser.rs), on both engines: the emailed
//! invitation link, its expiry and renewal from the page, and the home page.

use crate::invitations::{Invited, invite_ana, mail_count, token_in};
use crate::support::browser::Browser;
use idp_sync::store::Engine;

async fn expired_link_renews_from_the_page(engine: Engine) {
    let browser = Browser::start().await;
    let Invited {
        smtp,
        app,
        worker,
        token: first,
        ..
    } = invite_ana(engine, "1h").await;

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

    // Expired (the clock is the database's: the invitation's end is moved into the past,
    // so a busy machine cannot make the test race the expiry): the same link now offers
    // renewal.
    expire_pending_invitations(&app).await;
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

async fn expire_pending_invitations(app: &crate::support::app::TestApp) {
    // One statement both engines accept (SQLite stores this text; PostgreSQL casts it).
    let sql = "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' \
               WHERE status = 'pending'";
    match app.db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&app.db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}
