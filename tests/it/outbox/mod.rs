//! The outbox end to end, on both engines: events enqueued as the lifecycle will enqueue
//! them, the real worker, and real receivers — an SMTP server (`support::smtp`), axum
//! webhook and connector receivers on port 0.

mod delivery;

use crate::support::app::BASE_POLICY;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use idp_sync::config::{ConfigHandle, Env};
use idp_sync::domain::{
    Access, Cause, EventType, Invitation, InvitationStatus, OutboxEvent, User, UserState,
};
use idp_sync::outbox::{self, EventInput, Waker, Worker, WorkerOptions};
use idp_sync::store::{Delivery, Store};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub const WEBHOOK_SECRET: &str = "whsec-test-0123456789";
pub const APP_TOKEN: &str = "app-api-token";

/// A config of the base policy plus `extra`, with the test secrets in its environment.
pub fn config(dir: &tempfile::TempDir, extra: &str) -> ConfigHandle {
    let text = format!(
        "version = 1\n[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://idp.example.test\"\n\
         [database]\nurl = \"sqlite://unused.db\"\n{BASE_POLICY}\n{extra}"
    );
    let path = dir.path().join("idp-sync.toml");
    std::fs::write(&path, text).unwrap();
    let env = Env::from_map([
        ("TEST_OKTA_SCIM_TOKEN", crate::support::app::OKTA_TOKEN),
        ("TEST_ENTRA_SCIM_TOKEN", crate::support::app::ENTRA_TOKEN),
        ("TEST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("APP_API_TOKEN", APP_TOKEN),
    ]);
    ConfigHandle::load(&path, env).unwrap_or_else(|e| panic!("test config:\n{e}"))
}

/// Fast retries for tests.
pub fn fast_delivery(max_age: &str) -> String {
    format!(
        "[delivery]\nbackoff_base = \"50ms\"\nbackoff_max = \"200ms\"\nmax_age = \"{max_age}\"\n"
    )
}

pub fn user(display_name: &str) -> User {
    let mut u = User::new("okta".into(), "ana@acme.com", Utc::now());
    u.email = Some("ana@acme.com".into());
    u.display_name = Some(display_name.into());
    u.state = UserState::Invited;
    u
}

pub fn access() -> Access {
    let mut a = Access::new("Editor".into());
    a.organizations.insert("acme".into());
    a.organizations.insert("acme-east".into());
    a
}

/// Enqueues an event for `u` as the lifecycle does; for `user.invited` also an invitation
/// (returned with its token) whose link goes to the email delivery.
pub async fn enqueue(
    store: &dyn Store,
    config: &ConfigHandle,
    u: &User,
    event_type: EventType,
) -> (OutboxEvent, Option<(Invitation, String)>) {
    let now = Utc::now();
    let a = access();
    let invitation = (event_type == EventType::UserInvited).then(|| {
        let token = "t".repeat(43);
        let inv = Invitation {
            id: format!("inv_{}", uuid::Uuid::new_v4().simple()),
            user_id: u.id.clone(),
            token_hash: "hash".into(),
            email: u.email.clone().unwrap(),
            invited_by: "okta".into(),
            access: a.clone(),
            status: InvitationStatus::Pending,
            created_at: now,
            expires_at: now + chrono::Duration::days(14),
            renewed_from: None,
        };
        (inv, token)
    });
    let cause = Cause::Scim {
        request_id: "req-1".into(),
    };
    let event = outbox::build_event(&EventInput {
        event_type,
        occurred_at: now,
        user: u,
        access: Some(&a),
        previous: None,
        cause: &cause,
        conflict: None,
        invitation: invitation.as_ref().map(|(i, _)| i),
    });
    let cfg = config.current();
    let secret = invitation
        .as_ref()
        .map(|(i, token)| outbox::invitation_secret(&cfg, token, &i.email));
    let mut tx = store.begin().await.unwrap();
    outbox::enqueue(&mut *tx, &cfg, &event, secret.as_ref())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (event, invitation)
}

pub struct RunningWorker {
    pub waker: Waker,
    stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("worker stops")
            .unwrap();
    }
}

pub fn start_worker(
    store: Arc<dyn Store>,
    config: &ConfigHandle,
    options: WorkerOptions,
) -> RunningWorker {
    let waker = Waker::new();
    let (stop, rx) = watch::channel(false);
    let worker = Worker::new(store, config.clone(), waker.clone(), options).unwrap();
    RunningWorker {
        waker,
        stop,
        task: tokio::spawn(worker.run(rx)),
    }
}

pub fn fast_options() -> WorkerOptions {
    WorkerOptions {
        poll_interval: Duration::from_millis(50),
        ..WorkerOptions::default()
    }
}

pub async fn delivery(store: &dyn Store, event_id: &str, destination: &str) -> Delivery {
    let mut read = store.read().await.unwrap();
    read.list_deliveries(event_id)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.destination == destination)
        .unwrap_or_else(|| panic!("no delivery {event_id} → {destination}"))
}

/// Polls until `check` holds for the delivery, or panics after `within`.
pub async fn wait_for<F: Fn(&Delivery) -> bool>(
    store: &dyn Store,
    event_id: &str,
    destination: &str,
    within: Duration,
    check: F,
) -> Delivery {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let d = delivery(store, event_id, destination).await;
        if check(&d) {
            return d;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {event_id} → {destination}: {d:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One request an HTTP receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

/// An HTTP receiver on port 0 answering `status` (changeable) to every request.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
    pub status: Arc<AtomicU16>,
    /// Milliseconds to wait before answering.
    pub delay_ms: Arc<AtomicU64>,
    /// A `Retry-After` value to answer with.
    pub retry_after: Arc<Mutex<Option<String>>>,
}

#[derive(Clone)]
struct ReceiverState {
    hits: Arc<Mutex<Vec<Hit>>>,
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    retry_after: Arc<Mutex<Option<String>>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let delay = state.delay_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    state.hits.lock().unwrap().push(Hit {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst)).unwrap();
    let retry_after = state.retry_after.lock().unwrap().clone();
    match retry_after {
        Some(v) => (status, [("retry-after", v)]).into_response(),
        None => status.into_response(),
    }
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        let state = ReceiverState {
            hits: Arc::default(),
            status: Arc::new(AtomicU16::new(status)),
            delay_ms: Arc::default(),
            retry_after: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(receive)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}"),
            hits: state.hits,
            status: state.status,
            delay_ms: state.delay_ms,
            retry_after: state.retry_after,
        }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn set_status(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

/// `both_engines_outbox!(name)`: `async fn name(store: Arc<dyn Store>)` on both engines.
macro_rules! both_engines_outbox {
    ($name:ident) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::support::TestDb::migrated(Engine::Sqlite).await;
                super::$name(db.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::support::TestDb::migrated(Engine::Postgres).await;
                super::$name(db.store.clone()).await;
            }
        }
    };
}
pub(crate) use both_engines_outbox;
