//! The shared test harness: a fresh, private database per test on either engine, and
//! [`both_engines!`] to run one test body against SQLite and PostgreSQL.
//!
//! PostgreSQL comes from `IDP_SYNC_TEST_POSTGRES_URL` when set (a server on which the
//! URL's user may `CREATE DATABASE`), else from a private cluster this process starts on
//! first use and stops when it exits (see [`postgres`]). `cargo test` needs nothing else.

pub mod app;
pub mod browser;
pub mod oidc_provider;
pub mod postgres;
pub mod saml_idp;
pub mod scripted_browser;
pub mod smtp;
pub mod sqlite;
pub mod venv;

use idp_sync::store::{self, Engine, Store};
use std::sync::Arc;

/// One test's database: its URL, an open store, and whatever keeps it alive.
pub struct TestDb {
    pub engine: Engine,
    pub url: String,
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new empty database (no schema yet), connected.
    pub async fn fresh(engine: Engine) -> Self {
        let (url, dir) = match engine {
            Engine::Sqlite => {
                let (url, dir) = sqlite::fresh_url();
                (url, Some(dir))
            }
            Engine::Postgres => (postgres::fresh_database().await, None),
        };
        let store = store::connect(&url, 4)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        Self {
            engine,
            url,
            store,
            _dir: dir,
        }
    }

    /// A new database with the latest schema.
    pub async fn migrated(engine: Engine) -> Self {
        let db = Self::fresh(engine).await;
        db.store.migrate().await.expect("migrate");
        db
    }
}

/// `both_engines!(name)` turns `async fn name(store: Arc<dyn Store>)` into the tests
/// `name::sqlite` and `name::postgres`, each on a fresh migrated database.
/// `both_engines!(name, fresh)` hands the test a [`TestDb`] without a schema instead.
macro_rules! both_engines {
    ($name:ident) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test]
            async fn sqlite() {
                let db = $crate::support::TestDb::migrated(Engine::Sqlite).await;
                super::$name(db.store.clone()).await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::support::TestDb::migrated(Engine::Postgres).await;
                super::$name(db.store.clone()).await;
            }
        }
    };
    ($name:ident, fresh) => {
        mod $name {
            use idp_sync::store::Engine;

            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::support::TestDb::fresh(Engine::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$name($crate::support::TestDb::fresh(Engine::Postgres).await).await;
            }
        }
    };
}
pub(crate) use both_engines;
