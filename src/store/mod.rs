//! Persistence: one [`Store`] trait with intention-level methods, two engines behind it
//! (SQLite, the embedded default, and PostgreSQL for several replicas), chosen once by
//! the URL's scheme in [`connect`].
//!
//! What lives here: the traits ([`api`]), their query and result types ([`types`]), the
//! error type with the mapping of named constraints to typed conflicts ([`error`]), the
//! row shapes shared by both engines, the engines' connection setup, and the SQL, which
//! is written once in `sql/` and compiled once per engine (see `sql/mod.rs`). Migrations
//! are in `migrations/sqlite` and `migrations/postgres`, with the same versions and names.
//!
//! What it must not touch: anything but [`crate::domain`] and the pure [`crate::scim`]
//! module (filters, translated to SQL in `scim_filter`). No HTTP or config types;
//! callers pass `now` in, so the store never reads a clock.
//!
//! [`connect`] never migrates: the caller runs [`Store::migrate`] (`serve` does unless
//! given `--no-migrate`; `idp-sync migrate` does nothing else).

pub mod api;
pub mod error;
mod postgres;
pub mod review;
mod rows;
mod scim_filter;
mod sqlite;
pub mod types;

pub use api::{PointReads, Store, StoreRead, StoreResult, StoreTx};
pub use error::{ConflictKind, StoreError};
pub use review::{
    DeliveryListing, DeliveryQuery, DeliveryState, HeldConfig, HeldConfigStatus, InvitationQuery,
    PendingRemoval, PendingRemovalKind, PendingRemovalQuery, PendingRemovalStatus,
    StoredPendingRemoval,
};
pub use scim_filter::{group_view, user_view};
pub use types::{
    AuditQuery, ClaimedDelivery, Delivery, DeliveryStatus, Engine, Grant, OutboxQuery, PoolStats,
    ScimListQuery, ScimPage, StoredAccess, StoredOutboxEvent, UserDoc, UserQuery,
};

use std::sync::Arc;

/// The engine a database URL names: `sqlite:` or `postgres://` / `postgresql://`.
pub fn engine_of(url: &str) -> Result<Engine, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Engine::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Engine::Postgres)
    } else {
        Err(StoreError::InvalidUrl(
            "expected sqlite:, postgres:// or postgresql://".to_owned(),
        ))
    }
}

/// Opens the database `url` names, with at most `max_connections` pooled connections
/// (for reads on SQLite, which adds one writer connection). Relative SQLite paths
/// resolve against the working directory; a missing file and its directory are created.
pub async fn connect(url: &str, max_connections: u32) -> Result<Arc<dyn Store>, StoreError> {
    match engine_of(url)? {
        Engine::Sqlite => sqlite::connect(url, max_connections).await,
        Engine::Postgres => postgres::connect(url, max_connections).await,
    }
}
