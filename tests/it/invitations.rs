//! The invitation link, on both engines: the landing page (no side effects), its refusals,
//! expiry and renewal to the original address only, and the renewal rate limit.

use crate::outbox::{fast_options, start_worker};
use crate::support::app::{OKTA_TOKEN, TestApp};
use crate::support::smtp::SmtpServer;
use idp_sync::store::Engine;
use reqwest::Method;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub async fn mail_count(smtp: &SmtpServer, count: usize) {
    for _ in 0..100 {
        if smtp.count() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} emails, got {}", smtp.count());
}

pub fn token_in(data: &str, base: &str) -> String {
    let prefix = format!("{base}/invitations/");
    let at = data.find(&prefix).expect("link");
    data[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let res = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("get");
    let status = res.status().as_u16();
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    (status, res.text().await.expect("body"))
}

async fn post(app: &TestApp, path: &str) -> (u16, String) {
    let res = app
        .http
        .post(format!("{}{path}", app.base))
        .send()
        .await
        .expect("post");
    (res.status().as_u16(), res.text().await.expect("body"))
}

/// A running app with a real SMTP server and the delivery worker, in which Okta SCIM has
/// put Ana Lima in Engineering (Editor on Acme Corp and Acme East), so her invitation
/// email has arrived. Invitations last `ttl`.
pub struct Invited {
    pub smtp: SmtpServer,
    pub app: TestApp,
    pub worker: crate::outbox::RunningWorker,
    /// Ana's SCIM id.
    pub user_id: String,
    /// The token of the link in the first email.
    pub token: String,
}

pub async fn invite_ana(engine: Engine, ttl: &str) -> Invited {
    let smtp = SmtpServer::start(
        "127.0.0.1:0".parse().expect("addr"),
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let extra = format!(
        "[email]\nsmtp_url = \"smtp://{}?tls=none\"\nfrom = \"Acme Access <access@example.com>\"\n\
         application_name = \"Acme Docs\"\ninvitation_ttl = \"{ttl}\"\n",
        smtp.addr
    );
    let app = TestApp::spawn(engine, &extra).await;
    let worker = start_worker(app.db.store.clone(), &app.config, fast_options());
    let (status, user) = app
        .scim_json(
            OKTA_TOKEN,
            Method::POST,
            "/Users",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ana@acme.com", "displayName": "Ana Lima",
                         "emails": [{ "value": "ana@acme.com", "primary": true }] })),
        )
        .await;
    assert_eq!(status, 201);
    let user_id = user["id"].as_str().expect("id").to_owned();
    let (status, _) = app
        .scim_json(OKTA_TOKEN, Method::POST, "/Groups", Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": [{ "value": user_id }] })))
        .await;
    assert_eq!(status, 201);
    mail_count(&smtp, 1).await;
    let token = token_in(&smtp.messages.lock().expect("lock")[0].data, &app.base);
    Invited {
        smtp,
        app,
        worker,
        user_id,
        token,
    }
}

async fn invitation_pages(engine: Engine) {
    let Invited {
        smtp,
        app,
        worker,
        user_id: uid,
        token: first,
    } = invite_ana(engine, "2s").await;

    // The landing page: who invited whom to what. Opening it twice changes nothing.
    for _ in 0..2 {
        let (status, body) = get(&app, &format!("/invitations/{first}")).await;
        assert_eq!(status, 200, "{body}");
        for text in [
            "Acme Docs",
            "Ana Lima",
            "Editor",
            "Acme Corp",
            "Acme East",
            "valid until",
        ] {
            assert!(body.contains(text), "{text} missing:\n{body}");
        }
    }
    assert_eq!(
        app.db
            .store
            .list_invitations(&uid.as_str().into())
            .await
            .expect("list")
            .len(),
        1
    );
    let (status, body) = get(&app, &format!("/invitations/{}", "x".repeat(43))).await;
    assert_eq!(status, 404);
    assert!(body.contains("INVITATION-UNKNOWN"));
    let (status, _) = get(&app, "/invitations/short").await;
    assert_eq!(status, 404);
    let (status, body) = post(&app, &format!("/invitations/{first}/renew")).await;
    assert_eq!(status, 409, "{body}");

    // The IdP changes the address; the invitation expires.
    let (status, _) = app
        .scim_json(
            OKTA_TOKEN,
            Method::PATCH,
            &format!("/Users/{uid}"),
            Some(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{ "op": "replace", "path": "emails", "value": [{ "value": "bea@acme.com", "primary": true }] }] })),
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = get(&app, &format!("/invitations/{first}")).await;
    assert_eq!(status, 410, "{body}");
    assert!(
        body.contains("Send me a new invitation") && body.contains("INVITATION-EXPIRED"),
        "{body}"
    );

    // Renewal: a new link, to the original address only; the old link stops working.
    let (status, body) = post(&app, &format!("/invitations/{first}/renew")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("a•••@acme.com"), "{body}");
    mail_count(&smtp, 2).await;
    let renewed = smtp.messages.lock().expect("lock")[1].clone();
    assert!(
        renewed.to[0].contains("<ana@acme.com>"),
        "renewals go to the original address: {:?}",
        renewed.to
    );
    let second = token_in(&renewed.data, &app.base);
    assert_ne!(second, first);
    let (status, _) = get(&app, &format!("/invitations/{first}")).await;
    assert_eq!(status, 404);
    let (status, _) = get(&app, &format!("/invitations/{second}")).await;
    assert_eq!(status, 200);

    // Renewals are rate-limited per user.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = post(&app, &format!("/invitations/{second}/renew")).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("INVITATION-RENEW-TOO-SOON"));
    assert_eq!(smtp.count(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn invitation_pages_sqlite() {
    invitation_pages(Engine::Sqlite).await;
}

#[tokio::test]
async fn invitation_pages_postgres() {
    invitation_pages(Engine::Postgres).await;
}
