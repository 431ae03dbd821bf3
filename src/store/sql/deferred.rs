//! Writes held back until a request's next statement or its commit, and then sent with it
//! as one script: one round trip to the connection's worker thread instead of one each.
//!
//! Only inside a group commit (`batch.rs`, SQLite), and only for writes whose result the
//! caller does not read: a new user and an audit event. A SCIM create is exactly these two,
//! so its whole transaction — savepoint, both INSERTs, release — is one script. An error
//! (a taken `userName`: a unique violation) surfaces at that next statement or at the
//! commit, as the same [`StoreError`](crate::store::error::StoreError) the INSERT would have
//! given, and the request's savepoint is undone as for any failed request.
//!
//! A script is the statements' SQL joined with `;`, each statement's `$n` parameters
//! renumbered after those of the statements before it (sqlx's SQLite driver binds `$n` to
//! the n-th argument of the whole query), and the arguments bound in the same order.

use super::{Query, audit, users};
use crate::domain::{AuditEvent, User};

/// One held-back write.
pub(super) enum Deferred {
    CreateUser(Box<User>),
    AppendAudit(Box<AuditEvent>),
}

impl Deferred {
    fn sql(&self) -> &'static str {
        match self {
            Self::CreateUser(_) => users::CREATE,
            Self::AppendAudit(_) => audit::APPEND,
        }
    }

    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        match self {
            Self::CreateUser(user) => users::bind_create(query, user),
            Self::AppendAudit(event) => audit::bind_append(query, event),
        }
    }
}

/// The script of `before` (statements without parameters), the `pending` writes and
/// `after`; empty when all three are.
pub(super) fn script(before: Option<&str>, pending: &[Deferred], after: Option<&str>) -> String {
    let mut sql = String::new();
    let separate = |sql: &mut String| {
        if !sql.is_empty() {
            sql.push_str("; ");
        }
    };
    if let Some(before) = before {
        sql.push_str(before);
    }
    let mut offset = 0;
    for write in pending {
        separate(&mut sql);
        offset += renumber(write.sql(), offset, &mut sql);
    }
    if let Some(after) = after {
        separate(&mut sql);
        sql.push_str(after);
    }
    sql
}

/// Binds the arguments of `pending`, in script order.
pub(super) fn bind<'q>(mut query: Query<'q>, pending: &'q [Deferred]) -> Query<'q> {
    for write in pending {
        query = write.bind(query);
    }
    query
}

/// Appends `sql` to `out` with every `$n` outside string literals shifted by `offset`;
/// returns the largest `n` it held (its parameter count: the statements here number theirs
/// `$1…$n`). Runs on every create: no allocation beyond `out`'s.
fn renumber(sql: &str, offset: usize, out: &mut String) -> usize {
    use std::fmt::Write as _;
    let bytes = sql.as_bytes();
    let mut highest = 0;
    let mut in_literal = false;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_literal = !in_literal,
            b'$' if !in_literal => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if let Ok(n) = sql[i + 1..i + 1 + digits].parse::<usize>() {
                    out.push_str(&sql[copied..i]);
                    // Writing to a String cannot fail.
                    let _ = write!(out, "${}", n + offset);
                    highest = highest.max(n);
                    copied = i + 1 + digits;
                }
                i += digits;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    highest
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::renumber`] into a string of its own.
    fn renumber(sql: &str, offset: usize) -> (String, usize) {
        let mut out = String::new();
        let highest = super::renumber(sql, offset, &mut out);
        (out, highest)
    }

    #[test]
    fn parameters_are_renumbered_outside_literals_only() {
        assert_eq!(
            renumber("INSERT INTO t (a, b) VALUES ($1, $2)", 18),
            ("INSERT INTO t (a, b) VALUES ($19, $20)".to_owned(), 2)
        );
        assert_eq!(
            renumber("SELECT json_extract(x, '$.a'), $1, $12", 3),
            ("SELECT json_extract(x, '$.a'), $4, $15".to_owned(), 12)
        );
        assert_eq!(
            renumber("RELEASE SAVEPOINT s", 7),
            ("RELEASE SAVEPOINT s".to_owned(), 0)
        );
    }

    #[test]
    fn a_script_joins_statements_and_numbers_parameters_across_them() {
        let user = User::new(
            crate::domain::ConnectionId::from("okta"),
            "a@b.c".to_owned(),
            chrono::Utc::now(),
        );
        let event = AuditEvent::new("scim.user_created", "scim:okta", chrono::Utc::now());
        let pending = [
            Deferred::CreateUser(Box::new(user)),
            Deferred::AppendAudit(Box::new(event)),
        ];
        let sql = script(Some("SAVEPOINT s"), &pending, Some("RELEASE SAVEPOINT s"));
        assert!(sql.starts_with("SAVEPOINT s; INSERT INTO users"), "{sql}");
        assert!(sql.ends_with("$24, $25); RELEASE SAVEPOINT s"), "{sql}");
        assert!(sql.contains("$18); INSERT INTO audit_events"), "{sql}");
        assert_eq!(script(None, &[], None), "");
    }
}
