//! The store's error type and the one table that turns database constraint violations
//! into typed conflicts.
//!
//! PostgreSQL names the violated constraint; SQLite only says
//! `UNIQUE constraint failed: users.connection, users.user_name_key`. Every unique
//! constraint and index in `migrations/` is named, and [`CONSTRAINTS`] lists each one with
//! both spellings, so both engines map a violation to the same [`ConflictKind`].

use sqlx::error::ErrorKind;

/// Which uniqueness rule a write broke. Callers turn these into protocol answers
/// (SCIM 409 `uniqueness`, admin API 409) without looking at SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    /// A user with this id exists already.
    UserIdTaken,
    /// Another user of the connection has this userName (compared case-insensitively).
    UserNameTaken,
    /// Another user of the connection has this externalId.
    ExternalIdTaken,
    /// Another user of the connection has this SAML NameID / OIDC `sub`.
    SsoSubjectTaken,
    GroupIdTaken,
    /// Another IdP group of the connection has this externalId.
    GroupExternalIdTaken,
    InvitationIdTaken,
    InvitationTokenTaken,
    SessionTaken,
    /// A pending sign-in with this key (AuthnRequest ID / OIDC state) exists.
    SsoLoginTaken,
    OutboxEventIdTaken,
    /// The event already has a delivery to this destination.
    DeliveryTaken,
    /// A unique constraint the table below does not know (a bug: name it there).
    Other(String),
}

/// Every named unique constraint: (PostgreSQL name, SQLite's column list, kind).
const CONSTRAINTS: &[(&str, &str, ConflictKind)] = &[
    ("users_pkey", "users.id", ConflictKind::UserIdTaken),
    (
        "users_connection_user_name_key",
        "users.connection, users.user_name_key",
        ConflictKind::UserNameTaken,
    ),
    (
        "users_connection_external_id_key",
        "users.connection, users.external_id",
        ConflictKind::ExternalIdTaken,
    ),
    (
        "users_connection_sso_subject_key",
        "users.connection, users.sso_subject",
        ConflictKind::SsoSubjectTaken,
    ),
    (
        "idp_groups_pkey",
        "idp_groups.id",
        ConflictKind::GroupIdTaken,
    ),
    (
        "idp_groups_connection_external_id_key",
        "idp_groups.connection, idp_groups.external_id",
        ConflictKind::GroupExternalIdTaken,
    ),
    (
        "invitations_pkey",
        "invitations.id",
        ConflictKind::InvitationIdTaken,
    ),
    (
        "invitations_token_hash_key",
        "invitations.token_hash",
        ConflictKind::InvitationTokenTaken,
    ),
    (
        "sessions_pkey",
        "sessions.id_hash",
        ConflictKind::SessionTaken,
    ),
    (
        "sso_logins_pkey",
        "sso_logins.login_key",
        ConflictKind::SsoLoginTaken,
    ),
    (
        "outbox_events_id_key",
        "outbox_events.id",
        ConflictKind::OutboxEventIdTaken,
    ),
    (
        "outbox_deliveries_pkey",
        "outbox_deliveries.event_id, outbox_deliveries.destination",
        ConflictKind::DeliveryTaken,
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation names does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken.
    #[error("conflict: {0:?}")]
    Conflict(ConflictKind),
    /// Optimistic concurrency: the row changed since the caller read it.
    #[error("version mismatch: expected {expected}, found {actual}")]
    VersionMismatch { expected: i64, actual: i64 },
    /// A row refers to one that does not exist (e.g. a member that is not a user).
    #[error("foreign key violation: {0}")]
    ForeignKey(String),
    /// The database URL cannot be used.
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    /// A stored value this build cannot read (e.g. an unknown state name).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A SCIM filter or sortBy the SQL translation refuses (SCIM 400 `invalidFilter`).
    #[error("unsupported filter: {0}")]
    UnsupportedFilter(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else the database reported (unreachable, timeout, bad SQL …).
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl StoreError {
    /// The database did not hand out a connection in time: a retry may succeed.
    pub fn is_busy(&self) -> bool {
        match self {
            Self::Database(sqlx::Error::PoolTimedOut) => true,
            // SQLite BUSY/LOCKED (and their extended codes); PostgreSQL deadlock_detected and
            // serialization_failure. Each means "try again", not "this request is wrong".
            Self::Database(sqlx::Error::Database(db)) => matches!(
                db.code().as_deref(),
                Some("5" | "6" | "261" | "262" | "517" | "40P01" | "40001")
            ),
            _ => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let Some(db) = err.as_database_error() else {
            return Self::Database(err);
        };
        match db.kind() {
            ErrorKind::UniqueViolation => {
                Self::Conflict(conflict_kind(db.constraint(), db.message()))
            }
            ErrorKind::ForeignKeyViolation => {
                Self::ForeignKey(db.constraint().unwrap_or(db.message()).to_owned())
            }
            _ => Self::Database(err),
        }
    }
}

/// Finds the violated constraint by PostgreSQL name or by SQLite's column list.
fn conflict_kind(constraint: Option<&str>, message: &str) -> ConflictKind {
    if let Some(name) = constraint {
        if let Some((_, _, kind)) = CONSTRAINTS.iter().find(|(n, _, _)| *n == name) {
            return kind.clone();
        }
        return ConflictKind::Other(name.to_owned());
    }
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message)
        .trim();
    CONSTRAINTS
        .iter()
        .find(|(_, cols, _)| *cols == columns)
        .map(|(_, _, kind)| kind.clone())
        .unwrap_or_else(|| ConflictKind::Other(message.to_owned()))
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_map_to_the_same_kind() {
        assert_eq!(
            conflict_kind(Some("users_connection_user_name_key"), "duplicate key"),
            ConflictKind::UserNameTaken
        );
        assert_eq!(
            conflict_kind(
                None,
                "UNIQUE constraint failed: users.connection, users.user_name_key"
            ),
            ConflictKind::UserNameTaken
        );
        assert!(matches!(
            conflict_kind(None, "UNIQUE constraint failed: t.x"),
            ConflictKind::Other(_)
        ));
    }
}
