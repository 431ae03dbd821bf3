//! Identifier newtypes. Each is a plain string on the wire and in the database, but the
//! type system keeps a user id from being passed where an organization slug is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// A connection (one IdP tenant), e.g. `okta`. The pseudo-connection `manual` holds
    /// users invited through the admin API.
    ConnectionId
);
string_id!(
    /// An organization's slug, e.g. `acme-east`.
    OrgSlug
);
string_id!(
    /// A role's name as written in `[[roles]]`, e.g. `Editor`.
    RoleName
);
string_id!(
    /// The SCIM `id` idp-sync issued for a user (a UUID in text form). Also `user.id` in events.
    UserId
);
string_id!(
    /// The SCIM `id` idp-sync issued for an IdP group.
    GroupId
);

impl UserId {
    /// A fresh id, as issued on SCIM create or manual invitation: a UUIDv7 (RFC 9562), whose
    /// leading 48 bits are the creation time in milliseconds and the rest random (74 bits).
    /// Time-ordered ids make a new row's entries land at the right edge of every index keyed
    /// by user id (the users table's key, memberships, access, the audit log's user index)
    /// instead of on a random page each: fewer pages written per group commit. They reveal the
    /// creation time, which `meta.created` shows anyway; ids are not secrets (a SCIM client
    /// sees only its own connection's resources).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl GroupId {
    /// A fresh id: a UUIDv7, as [`UserId::generate`].
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl ConnectionId {
    /// The connection that holds users invited by hand through the admin API.
    pub fn manual() -> Self {
        Self("manual".to_owned())
    }
}
