//! Schema migrations and connecting by URL.

use crate::support::{TestDb, both_engines};
use idp_sync::store::{self, Engine, UserQuery};

both_engines!(empty_database_migrates_to_latest, fresh);
async fn empty_database_migrates_to_latest(db: TestDb) {
    // Nothing there before.
    assert!(db.store.list_users(&UserQuery::default()).await.is_err());
    db.store.migrate().await.unwrap();
    db.store.list_users(&UserQuery::default()).await.unwrap();
    // Twice is a no-op, also from a new connection (as a second replica would).
    db.store.migrate().await.unwrap();
    let again = store::connect(&db.url, 2).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.engine(), db.engine);
    again.ping().await.unwrap();
    let stats = again.pool_stats();
    assert!(stats.size >= 1 && stats.idle <= stats.size as usize);
    again.close().await;
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_memory_works() {
    let (url, _dir) = crate::support::sqlite::fresh_url();
    let s = store::connect(&url, 2).await.unwrap();
    assert_eq!(s.engine(), Engine::Sqlite);
    let path = url.trim_start_matches("sqlite://");
    assert!(std::path::Path::new(path).exists());

    let memory = store::connect("sqlite::memory:", 1).await.unwrap();
    memory.migrate().await.unwrap();
    memory
        .create_user(&super::user("ana@acme.com"))
        .await
        .unwrap();
    assert_eq!(
        memory
            .list_users(&UserQuery::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    assert!(matches!(
        store::connect("mysql://x", 1).await,
        Err(store::StoreError::InvalidUrl(_))
    ));
}
