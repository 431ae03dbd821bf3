//! What waits for an administrator, as stored: removals held back (a mass removal, or
//! `removal.grace`), config reloads refused as mass removals, and the listing shapes the
//! admin API and the CLI read (deliveries by state, users in conflict, invitations).

use crate::domain::{Access, ConnectionId, InvitationStatus, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| crate::domain::UnknownValue(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Why a removal waits.
    PendingRemovalKind {
        /// Part of a change that would remove too many users at once (`mass_threshold`).
        Mass = "mass",
        /// `removal.grace`: applied by itself at `due_at` unless the user comes back.
        Grace = "grace",
    }
);

named_enum!(
    /// Where a waiting removal stands.
    PendingRemovalStatus {
        Pending = "pending",
        /// Approved (or its grace ran out) and applied through the lifecycle.
        Approved = "approved",
        /// An administrator kept the user's access.
        Rejected = "rejected",
        /// When it was decided, the user no longer lost access (came back, was deleted,
        /// the config changed): nothing was applied.
        Obsolete = "obsolete",
        /// A later change removed the user's access directly.
        Superseded = "superseded",
    }
);

/// One removal that waits. The user keeps `previous` until it is decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PendingRemoval {
    pub id: String,
    pub user_id: UserId,
    pub connection: ConnectionId,
    pub user_name: String,
    pub kind: PendingRemovalKind,
    /// The change (SCIM request, reconcile) whose removals were held together.
    pub change_id: String,
    /// The access the user had (and keeps while this waits).
    pub previous: Access,
    /// Why resolution took the access away (`NoAccessReason`).
    pub reason: serde_json::Value,
    /// The change's cause (DESIGN §6 `cause`).
    pub cause: serde_json::Value,
    pub status: PendingRemovalStatus,
    pub created_at: DateTime<Utc>,
    /// Grace: from then on it is applied by itself.
    pub due_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

/// A page of waiting removals, oldest first.
#[derive(Clone, Debug, Default)]
pub struct PendingRemovalQuery {
    pub status: Option<PendingRemovalStatus>,
    /// Only this user's.
    pub user: Option<UserId>,
    /// Only grace removals due at or before this time.
    pub due_by: Option<DateTime<Utc>>,
    /// Cursor: the `seq` of the last row of the previous page.
    pub after_seq: Option<i64>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

/// A waiting removal with its position (the cursor of pages).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredPendingRemoval {
    pub seq: i64,
    #[serde(flatten)]
    pub removal: PendingRemoval,
}

named_enum!(
    /// Where a held config reload stands.
    HeldConfigStatus {
        /// Refused as a mass removal; waits for an administrator.
        Held = "held",
        /// An administrator approved it: daemons reading this file apply it.
        Approved = "approved",
        Rejected = "rejected",
    }
);

/// A config reload refused as a mass removal, by the fingerprint of its inputs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldConfig {
    pub fingerprint: String,
    /// The file it was read from.
    pub source: String,
    /// How many users would lose access, of how many who have it.
    pub removals: i64,
    pub with_access: i64,
    pub status: HeldConfigStatus,
    pub held_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
}

named_enum!(
    /// The admin API's view of a delivery: `failed` is a pending delivery that has failed
    /// at least once and waits for its next attempt.
    DeliveryState {
        Pending = "pending",
        Failed = "failed",
        Dead = "dead",
        Delivered = "delivered",
    }
);

/// A page of deliveries in one state, oldest event first.
#[derive(Clone, Debug)]
pub struct DeliveryQuery {
    pub state: DeliveryState,
    pub destination: Option<String>,
    /// Cursor: the event `seq` and destination of the last row of the previous page.
    pub after: Option<(i64, String)>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}

/// A delivery with what an operator needs to recognise its event.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryListing {
    pub seq: i64,
    pub event_type: String,
    pub user_id: Option<UserId>,
    pub occurred_at: DateTime<Utc>,
    pub delivery: super::Delivery,
    pub attempt_started_at: Option<DateTime<Utc>>,
    pub revived_at: Option<DateTime<Utc>>,
}

/// A page of invitations, newest first.
#[derive(Clone, Debug, Default)]
pub struct InvitationQuery {
    /// The stored status (an expired invitation is stored as pending; filter on
    /// `Invitation::effective_status` for that).
    pub status: Option<InvitationStatus>,
    pub user: Option<UserId>,
    /// Cursor: `created_at` and id of the last row of the previous page.
    pub before: Option<(DateTime<Utc>, String)>,
    /// Page size; 0 means the default (100).
    pub limit: u32,
}
