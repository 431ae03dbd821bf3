//! A fresh SQLite database file per test, in a temporary directory that is deleted when
//! the returned guard drops.

/// `sqlite://<tmp>/db/idp-sync.db` — the `db/` directory does not exist yet, so every
/// test also checks that the store creates it.
pub fn fresh_url() -> (String, tempfile::TempDir) {
    let dir = tempfile::Builder::new()
        .prefix("idp-sync-sqlite-")
        .tempdir()
        .expect("temp dir");
    let path = dir.path().join("db").join("idp-sync.db");
    (format!("sqlite://{}", path.display()), dir)
}
