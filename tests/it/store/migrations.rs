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

/// The schema of the first release: migrations up to and including this version.
const FIRST_RELEASE_SCHEMA: i64 = 3;

// Data written by the first release's schema survives every later migration and reads
// back through today's store (a failed upgrade is the worst bug a daemon can ship: it
// happens on the operator's data, not ours).
both_engines!(a_first_release_database_upgrades_with_its_data, fresh);
async fn a_first_release_database_upgrades_with_its_data(db: TestDb) {
    let source = match db.engine {
        Engine::Sqlite => "migrations/sqlite",
        Engine::Postgres => "migrations/postgres",
    };
    // The first release's migrations, exactly as shipped (same files, same checksums).
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= FIRST_RELEASE_SCHEMA {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
    // One statement list both engines accept (literals cast to TIMESTAMPTZ / JSONB).
    let data = r#"
        INSERT INTO users (id, connection, user_name, user_name_key, external_id, sso_subject,
            email, display_name, given_name, family_name, active, state, accepted_at, scim,
            version, created_at, updated_at, conflict)
        VALUES ('u1', 'okta', 'Ana@Acme.com', 'ana@acme.com', '00u1', 'nameid-1',
            'ana@acme.com', 'Ana Lima', 'Ana', 'Lima', TRUE, 'active',
            '2026-01-02T03:04:05.000000Z', '{"userName": "Ana@Acme.com"}', 7,
            '2026-01-01T00:00:00.000000Z', '2026-01-02T03:04:05.000000Z', NULL);
        INSERT INTO idp_groups (id, connection, display_name, display_name_key, external_id,
            version, created_at, updated_at)
        VALUES ('g1', 'okta', 'Engineering', 'engineering', '00g1', 2,
            '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
        INSERT INTO group_members (group_id, user_id) VALUES ('g1', 'u1');
        INSERT INTO sessions (id_hash, user_id, connection, created_at, last_seen_at, expires_at,
            revoked_at)
        VALUES ('h1', 'u1', 'okta', '2026-01-02T03:04:05.000000Z', '2026-01-02T03:04:05.000000Z',
            '2026-01-03T03:04:05.000000Z', NULL);
        INSERT INTO audit_events (occurred_at, kind, actor, connection, user_id, user_name, detail)
        VALUES ('2026-01-02T03:04:05.000000Z', 'user.invited', 'scim:okta', 'okta', 'u1',
            'Ana@Acme.com', '{"invitation": "i1"}');
    "#;
    match db.engine {
        Engine::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(data).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Engine::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            sqlx::raw_sql(data).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }

    // Today's daemon starts on it: the remaining migrations run, nothing is lost.
    db.store.migrate().await.unwrap();
    let user = db
        .store
        .get_user(&"u1".into())
        .await
        .unwrap()
        .expect("user kept");
    assert_eq!(user.user_name, "Ana@Acme.com");
    assert_eq!(user.external_id.as_deref(), Some("00u1"));
    assert_eq!(user.sso_subject.as_deref(), Some("nameid-1"));
    assert_eq!(user.state, idp_sync::domain::UserState::Active);
    assert_eq!(user.version, 7);
    assert_eq!(user.scim["userName"], "Ana@Acme.com");
    let mut read = db.store.read().await.unwrap();
    let by_name = read
        .find_user_by_user_name(&"okta".into(), "ANA@acme.com")
        .await
        .unwrap();
    assert_eq!(by_name.map(|u| u.id), Some(user.id.clone()));
    let groups = read.groups_of_user(&user.id).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(&*groups[0].display_name, "Engineering");
    let session = read.get_session("h1").await.unwrap().expect("session kept");
    assert_eq!(session.user_id, user.id);
    drop(read);
    let audit = db
        .store
        .list_audit(&idp_sync::store::AuditQuery::default())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].detail["invitation"], "i1");
    // And it keeps working: writes of today's schema succeed on the upgraded database.
    let mut next = user.clone();
    next.display_name = Some("Ana L.".to_owned());
    let mut tx = db.store.begin().await.unwrap();
    tx.update_user(&next, user.version).await.unwrap();
    tx.commit().await.unwrap();

    // The tables that point at users still do: a membership of an unknown user is
    // refused, and removing the user cascades.
    let mut tx = db.store.begin().await.unwrap();
    assert!(
        tx.add_group_members(&"g1".into(), &["nobody".into()])
            .await
            .is_err()
    );
    drop(tx);
    db.store.delete_user(&user.id).await.unwrap();
    assert!(db.store.get_session("h1").await.unwrap().is_none());
    assert!(db.store.groups_of_user(&user.id).await.unwrap().is_empty());
    assert_eq!(
        db.store
            .list_audit(&Default::default())
            .await
            .unwrap()
            .len(),
        1
    );
}
