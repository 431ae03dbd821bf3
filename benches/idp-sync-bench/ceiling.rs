//! The ceilings every figure is compared with, served by the same process and measured in
//! the same run: a bare axum handler with a fixed JSON body, and bare SQLite endpoints (one
//! autocommit INSERT per request on a single writer connection; one read by primary key on
//! a read pool) opened with the store's own settings (WAL, `synchronous = NORMAL`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use std::path::Path as FsPath;
use std::time::Duration;

/// Rows the read baseline reads from.
pub const READ_ROWS: u64 = 100_000;

const FIXED: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","active":true}"#;

#[derive(Clone)]
struct Db {
    write: Pool<Sqlite>,
    read: Pool<Sqlite>,
}

pub async fn router(dir: &FsPath) -> Router {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("baseline.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .unwrap_or_else(|e| panic!("baseline db: {e}"));
    sqlx::query(
        "CREATE TABLE kv (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
    )
    .execute(&write)
    .await
    .unwrap_or_else(|e| panic!("baseline table: {e}"));
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
         INSERT INTO kv (id, name, body) SELECT i, 'seed' || i, 'x' FROM n",
    )
    .bind(READ_ROWS as i64)
    .execute(&write)
    .await
    .unwrap_or_else(|e| panic!("baseline rows: {e}"));
    let read = SqlitePoolOptions::new()
        .max_connections(10)
        .connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("baseline read pool: {e}"));
    Router::new()
        .route("/ceiling", get(fixed))
        .route("/baseline/insert/{n}", post(insert))
        .route("/baseline/read/{id}", get(read_one))
        .with_state(Db { write, read })
}

async fn fixed() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], FIXED)
}

async fn insert(State(db): State<Db>, Path(n): Path<u64>) -> impl IntoResponse {
    match sqlx::query("INSERT INTO kv (name, body) VALUES ($1, $2)")
        .bind(format!("user{n}@bench.test"))
        .bind(FIXED)
        .execute(&db.write)
        .await
    {
        Ok(_) => (StatusCode::CREATED, FIXED).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn read_one(State(db): State<Db>, Path(id): Path<i64>) -> impl IntoResponse {
    let row: Result<Option<(String, String)>, _> =
        sqlx::query_as("SELECT name, body FROM kv WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.read)
            .await;
    match row {
        Ok(Some((_, body))) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
