//! Store conformance: every test here runs against SQLite and PostgreSQL (see
//! `support::both_engines!`), on a fresh database of its own.

mod access;
mod audit_outbox;
mod groups;
mod lifecycle;
mod migrations;
mod transactions;
mod users;

use chrono::{DateTime, SubsecRound, Utc};
use idp_sync::domain::{ConnectionId, IdpGroup, User};

/// Now, at the precision both engines keep (microseconds), so round trips compare equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn okta() -> ConnectionId {
    ConnectionId::new("okta")
}

pub fn user(user_name: &str) -> User {
    let mut u = User::new(okta(), user_name, now());
    u.email = Some(user_name.to_owned());
    u
}

pub fn group(display_name: &str) -> IdpGroup {
    IdpGroup::new(okta(), display_name, now())
}
