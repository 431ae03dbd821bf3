//! Delivery to real receivers: email over SMTP, signed webhooks, connectors; retries,
//! dead letters, manual retry, ordering, and the crash between SMTP and recording.

use super::*;
use crate::support::smtp::{Received, SmtpServer};
use hmac::{Hmac, Mac};
use idp_sync::outbox::email::INTERRUPTED;
use idp_sync::store::DeliveryStatus;
use sha2::Sha256;
use std::net::SocketAddr;

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn email_toml(addr: SocketAddr) -> String {
    format!(
        "[email]\nsmtp_url = \"smtp://{addr}?tls=none\"\nfrom = \"Acme Access <access@example.com>\"\n\
         application_name = \"Acme App\"\n"
    )
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn text_part(data: &str) -> &str {
    let start = data.find("Content-Type: text/plain").expect("text part");
    let rest = &data[start..];
    let end = rest.find("Content-Type: text/html").expect("html part");
    &rest[..end]
}

async fn invitation_email_after_smtp_returns(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_port();
    let cfg = config(
        &dir,
        &format!("{}{}", email_toml(addr), fast_delivery("1h")),
    );
    let u = user("Ana Lima");
    let (event, invitation) = enqueue(store.as_ref(), &cfg, &u, EventType::UserInvited).await;
    let (inv, token) = invitation.unwrap();
    let worker = start_worker(store.clone(), &cfg, fast_options());
    worker.waker.wake();
    // SMTP is down: the attempt fails without sending and is retried.
    let d = wait_for(
        store.as_ref(),
        &event.id,
        "email",
        Duration::from_secs(5),
        |d| d.attempts >= 2,
    )
    .await;
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert!(d.last_error.as_deref().unwrap().contains("SMTP"), "{d:?}");

    let messages: Arc<Mutex<Vec<Received>>> = Arc::default();
    let smtp = SmtpServer::start(addr, messages.clone()).await;
    wait_for(
        store.as_ref(),
        &event.id,
        "email",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Delivered,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.stop().await;
    assert_eq!(smtp.count(), 1, "sent exactly once");
    let m = messages.lock().unwrap()[0].clone();
    assert!(m.to[0].contains("ana@acme.com"), "{:?}", m.to);
    assert!(m.from.contains("access@example.com"), "{}", m.from);
    assert_eq!(
        header(&m.data, "Message-ID"),
        Some(format!("<invitation-{}@idp.example.test>", inv.id).as_str())
    );
    let link = format!("https://idp.example.test/invitations/{token}");
    let text = text_part(&m.data);
    assert!(text.contains(&link), "link in the text part:\n{text}");
    assert!(
        text.contains("Acme App") && text.contains("Acme Corp, Acme East"),
        "{text}"
    );
    assert!(text.contains("Editor"), "{text}");
    smtp.stop();
}
both_engines_outbox!(invitation_email_after_smtp_returns);

/// The worker stops between SMTP accepting the message and recording it (a crash); the
/// next worker finds the unfinished attempt and dead-letters instead of resending.
async fn crash_between_send_and_record_sends_once(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let messages: Arc<Mutex<Vec<Received>>> = Arc::default();
    let smtp = SmtpServer::start("127.0.0.1:0".parse().unwrap(), messages.clone()).await;
    let cfg = config(&dir, &email_toml(smtp.addr));
    let (event, _) = enqueue(store.as_ref(), &cfg, &user("Ana"), EventType::UserInvited).await;
    let lease = Duration::from_millis(500);
    let crashing = start_worker(
        store.clone(),
        &cfg,
        WorkerOptions {
            lease,
            crash_after_smtp_send: true,
            ..fast_options()
        },
    );
    tokio::time::timeout(Duration::from_secs(10), crashing.task)
        .await
        .expect("the fault point stops the worker")
        .unwrap();
    assert_eq!(smtp.count(), 1);
    assert_eq!(
        delivery(store.as_ref(), &event.id, "email").await.status,
        DeliveryStatus::Pending
    );

    let worker = start_worker(
        store.clone(),
        &cfg,
        WorkerOptions {
            lease,
            ..fast_options()
        },
    );
    let d = wait_for(
        store.as_ref(),
        &event.id,
        "email",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Dead,
    )
    .await;
    assert_eq!(d.last_error.as_deref(), Some(INTERRUPTED));
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.stop().await;
    assert_eq!(smtp.count(), 1, "never sent twice");
    // Its link was erased with the delivery's end: it cannot be revived, only re-invited.
    assert!(matches!(
        outbox::retry_dead(store.as_ref(), &event.id, "email", Utc::now()).await,
        Err(outbox::OutboxError::EmailNotRetryable)
    ));
    smtp.stop();
}
both_engines_outbox!(crash_between_send_and_record_sends_once);

fn webhook_toml(url: &str) -> String {
    format!(
        "[[webhooks]]\nname = \"app\"\nurl = \"{url}/hooks\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\n"
    )
}

fn verify_signature(hit: &Hit) {
    let header = hit.headers["idp-sync-signature"].to_str().unwrap();
    let mut parts = header.split(',');
    let t: i64 = parts
        .next()
        .unwrap()
        .strip_prefix("t=")
        .unwrap()
        .parse()
        .unwrap();
    assert!((Utc::now().timestamp() - t).abs() < 300);
    let v1 = parts.next().unwrap().strip_prefix("v1=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", hit.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("valid signature");
}

async fn webhook_is_signed_and_prompt(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(200).await;
    let cfg = config(&dir, &webhook_toml(&rx.url));
    // Default options: the first attempt must come within about a second of the commit.
    let worker = start_worker(store.clone(), &cfg, WorkerOptions::default());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (event, _) = enqueue(
        store.as_ref(),
        &cfg,
        &user("Ana"),
        EventType::UserAccessChanged,
    )
    .await;
    worker.waker.wake();
    wait_for(
        store.as_ref(),
        &event.id,
        "webhook:app",
        Duration::from_millis(1500),
        |d| d.status == DeliveryStatus::Delivered,
    )
    .await;
    worker.stop().await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.path, "/hooks");
    assert_eq!(hit.headers["content-type"], "application/json");
    assert_eq!(hit.headers["idempotency-key"], event.id.as_str());
    verify_signature(hit);
    let body: serde_json::Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body, event.payload);
}
both_engines_outbox!(webhook_is_signed_and_prompt);

async fn webhook_retries_dead_letters_and_manual_retry(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(500).await;
    let cfg = config(
        &dir,
        &format!("{}{}", webhook_toml(&rx.url), fast_delivery("1s")),
    );
    let worker = start_worker(store.clone(), &cfg, fast_options());
    let (event, _) = enqueue(store.as_ref(), &cfg, &user("Ana"), EventType::UserRemoved).await;
    let dead = wait_for(
        store.as_ref(),
        &event.id,
        "webhook:app",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Dead,
    )
    .await;
    let tries = rx.hits().len();
    assert!(
        tries >= 3,
        "retried with backoff before max_age: {tries} tries"
    );
    assert_eq!(dead.attempts as usize, tries);
    assert!(
        dead.last_error.as_deref().unwrap().contains("HTTP 500"),
        "{dead:?}"
    );
    // Retries were spaced out: the last ones at least backoff_base apart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.hits().len(), tries, "nothing more after the dead letter");

    rx.set_status(204);
    outbox::retry_dead(store.as_ref(), &event.id, "webhook:app", Utc::now())
        .await
        .unwrap();
    worker.waker.wake();
    wait_for(
        store.as_ref(),
        &event.id,
        "webhook:app",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Delivered,
    )
    .await;
    worker.stop().await;
    let hits = rx.hits();
    assert_eq!(hits.len(), tries + 1);
    assert!(
        hits.iter()
            .all(|h| h.headers["idempotency-key"] == event.id.as_str())
    );
    assert!(matches!(
        outbox::retry_dead(store.as_ref(), &event.id, "webhook:app", Utc::now()).await,
        Err(outbox::OutboxError::NotDead { .. })
    ));
}
both_engines_outbox!(webhook_retries_dead_letters_and_manual_retry);

async fn a_users_events_arrive_in_order(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(200).await;
    let cfg = config(&dir, &webhook_toml(&rx.url));
    let (u, other) = (user("Ana"), user("Bea"));
    let mut ids = Vec::new();
    for i in 0..6 {
        let t = if i % 2 == 0 {
            EventType::UserAccessChanged
        } else {
            EventType::UserActivated
        };
        ids.push(enqueue(store.as_ref(), &cfg, &u, t).await.0.id);
        enqueue(store.as_ref(), &cfg, &other, t).await;
    }
    let worker = start_worker(store.clone(), &cfg, fast_options());
    let last = ids.last().unwrap().clone();
    wait_for(
        store.as_ref(),
        &last,
        "webhook:app",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Delivered,
    )
    .await;
    worker.stop().await;
    let received: Vec<String> = rx
        .hits()
        .iter()
        .map(|h| h.headers["idempotency-key"].to_str().unwrap().to_owned())
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(received, ids);
}
both_engines_outbox!(a_users_events_arrive_in_order);

async fn connector_posts_json_escaped_values(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(201).await;
    let toml = format!(
        "[[connectors]]\nname = \"app-invite\"\non = \"user.invited\"\nmethod = \"POST\"\n\
         url = \"{}/api/v1/legacy/users/invite\"\n\
         headers = {{ Authorization = \"Bearer {{{{ env.APP_API_TOKEN }}}}\" }}\n\
         env = [\"APP_API_TOKEN\"]\n\
         body = '{{\"name\": \"{{{{ user.display_name }}}}\", \"email\": \"{{{{ user.email }}}}\"}}'\n",
        rx.url
    );
    let cfg = config(&dir, &toml);
    let name = r#"Ana "The Hammer" Lima \ co"#;
    let worker = start_worker(store.clone(), &cfg, fast_options());
    let (event, _) = enqueue(store.as_ref(), &cfg, &user(name), EventType::UserInvited).await;
    wait_for(
        store.as_ref(),
        &event.id,
        "connector:app-invite",
        Duration::from_secs(5),
        |d| d.status == DeliveryStatus::Delivered,
    )
    .await;
    worker.stop().await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/api/v1/legacy/users/invite");
    assert_eq!(
        hits[0].headers["authorization"],
        format!("Bearer {APP_TOKEN}").as_str()
    );
    assert_eq!(hits[0].headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&hits[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": name, "email": "ana@acme.com"})
    );
}
both_engines_outbox!(connector_posts_json_escaped_values);

/// Stopping the worker lets the delivery in progress finish and be recorded.
async fn shutdown_finishes_the_delivery_in_progress(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(200).await;
    rx.delay_ms.store(700, std::sync::atomic::Ordering::SeqCst);
    let cfg = config(&dir, &webhook_toml(&rx.url));
    let worker = start_worker(store.clone(), &cfg, fast_options());
    let (event, _) = enqueue(store.as_ref(), &cfg, &user("Ana"), EventType::UserSuspended).await;
    worker.waker.wake();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while rx.hits().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no attempt");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.stop().await;
    let d = delivery(store.as_ref(), &event.id, "webhook:app").await;
    assert_eq!(d.status, DeliveryStatus::Delivered, "{d:?}");
}
both_engines_outbox!(shutdown_finishes_the_delivery_in_progress);

/// A 429 with `Retry-After` delays the next attempt at least that long.
async fn retry_after_is_honoured(store: Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(429).await;
    *rx.retry_after.lock().unwrap() = Some("120".into());
    let cfg = config(
        &dir,
        &format!("{}{}", webhook_toml(&rx.url), fast_delivery("1h")),
    );
    let worker = start_worker(store.clone(), &cfg, fast_options());
    let (event, _) = enqueue(store.as_ref(), &cfg, &user("Ana"), EventType::UserActivated).await;
    let d = wait_for(
        store.as_ref(),
        &event.id,
        "webhook:app",
        Duration::from_secs(5),
        |d| d.attempts == 1 && d.last_error.is_some() && d.claimed_until.is_none(),
    )
    .await;
    worker.stop().await;
    // backoff_max is 200 ms, but the receiver asked for two minutes.
    let wait = d.next_attempt_at - event.occurred_at;
    assert!(wait >= chrono::Duration::seconds(119), "{wait:?}");
    assert!(wait < chrono::Duration::seconds(130), "{wait:?}");
    assert_eq!(rx.hits().len(), 1);
    assert!(d.last_error.as_deref().unwrap().contains("429"));
}
both_engines_outbox!(retry_after_is_honoured);

#[test]
fn destinations_follow_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_port();
    let toml = format!(
        "{}[[webhooks]]\nname = \"all\"\nurl = \"http://127.0.0.1:9/a\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\n\
         [[webhooks]]\nname = \"star\"\nurl = \"http://127.0.0.1:9/b\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\nevents = [\"*\"]\n\
         [[webhooks]]\nurl = \"http://127.0.0.1:9/c\"\nsecret_env = \"TEST_WEBHOOK_SECRET\"\nevents = [\"user.removed\"]\n\
         [[connectors]]\nname = \"app-invite\"\non = \"user.invited\"\nurl = \"http://127.0.0.1:9/i\"\n",
        email_toml(addr)
    );
    let cfg = config(&dir, &toml).current();
    assert_eq!(
        outbox::destinations_for(&cfg, EventType::UserInvited),
        [
            "email",
            "webhook:all",
            "webhook:star",
            "connector:app-invite"
        ]
    );
    assert_eq!(
        outbox::destinations_for(&cfg, EventType::UserRemoved),
        [
            "webhook:all",
            "webhook:star",
            "webhook:http://127.0.0.1:9/c"
        ]
    );
    assert_eq!(
        outbox::destinations_for(&cfg, EventType::InvitationRenewed),
        ["email", "webhook:all", "webhook:star"]
    );
}

#[test]
fn email_templates_escape_html_and_can_be_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("mail");
    std::fs::create_dir(&templates).unwrap();
    std::fs::write(
        templates.join("invitation.txt"),
        "Join {{ application }}: {{ link }}\n",
    )
    .unwrap();
    let toml = format!(
        "{}templates_dir = \"{}\"\n",
        email_toml(free_port()),
        templates.display()
    );
    let cfg = config(&dir, &toml).current();
    let u = user("<b>Ana</b>");
    let cause = Cause::Admin {
        token: "ops".into(),
    };
    let a = access();
    let event = outbox::build_event(&EventInput {
        event_type: EventType::UserInvited,
        occurred_at: Utc::now(),
        user: &u,
        access: Some(&a),
        previous: None,
        cause: &cause,
        conflict: None,
        invitation: None,
    });
    let secret = outbox::invitation_secret(&cfg, "tok", "ana@acme.com");
    let email = cfg.email.as_ref().unwrap();
    let r = outbox::email::render(&cfg, email, &event.payload, &secret).unwrap();
    assert_eq!(
        r.text,
        "Join Acme App: https://idp.example.test/invitations/tok\n"
    );
    assert!(r.html.contains("Hello &lt;b&gt;Ana&lt;"), "{}", r.html);
    assert!(!r.html.contains("<b>"), "{}", r.html);
    assert!(r.subject.contains("Acme App"), "{}", r.subject);
}
