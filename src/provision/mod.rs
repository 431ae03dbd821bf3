//! Provisioning: what an IdP's SCIM write does to the directory. Each operation is one
//! transaction holding the directory change, its audit records and the access
//! recomputation of every user it touched ([`crate::reconcile::directory_changed`]), so a
//! request is applied entirely or not at all.
//!
//! Identity is (connection, id): a connection never sees or touches another connection's
//! users or groups — a foreign id is simply "not found". Group membership is stored as rows
//! and changed row by row, so a membership PATCH costs O(changed members) and concurrent
//! PATCHes to one group cannot lose each other's updates (the group row is locked for the
//! transaction). Passwords the IdP sends are accepted and never stored: people sign in
//! through SSO, so idp-sync has no use for them.

mod groups;
mod users;

pub use groups::all_members as group_members;
pub use groups::{
    GroupChange, GroupView, MemberPages, create_group, delete_group, get_group, get_group_paged,
    patch_group, replace_group,
};
pub use users::groups_of as user_groups;
pub use users::{UserView, create_user, delete_user, get_user, patch_user, replace_user};

use crate::domain::{AuditEvent, Cause, ConnectionId, Policy, UserId};
use crate::scim::error::ScimError;
use crate::scim::resource::EtagCondition;
use crate::store::{StoreError, StoreTx};
use chrono::{DateTime, Utc};

/// Who is writing, under which policy, and when.
#[derive(Clone, Copy, Debug)]
pub struct WriteContext<'a> {
    /// The config the request is served under (the lifecycle reads its email, removal and
    /// delivery settings).
    pub config: &'a crate::config::Config,
    /// `config.policy`.
    pub policy: &'a Policy,
    pub connection: &'a ConnectionId,
    /// The request id (also the `cause.request_id` of events).
    pub request_id: &'a str,
    pub now: DateTime<Utc>,
}

impl WriteContext<'_> {
    pub fn cause(&self) -> Cause {
        Cause::Scim {
            request_id: self.request_id.to_owned(),
        }
    }

    fn audit(&self, kind: &str) -> AuditEvent {
        let mut event = AuditEvent::new(kind, format!("scim:{}", self.connection), self.now);
        event.connection = Some(self.connection.clone());
        event
    }
}

/// `If-Match` of a write: `None` (no header) accepts any version.
pub type Precondition<'a> = Option<&'a EtagCondition>;

fn check_precondition(precondition: Precondition<'_>, current: i64) -> Result<(), ProvisionError> {
    match precondition {
        Some(condition) if !condition.matches(current) => {
            Err(ProvisionError::PreconditionFailed { current })
        }
        _ => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the resource is at version {current}")]
    PreconditionFailed { current: i64 },
    /// The IdP may not do this (e.g. delete a break-glass account).
    #[error("{0}")]
    Forbidden(String),
}

pub type ProvisionResult<T> = Result<T, ProvisionError>;

/// Recomputes access for `users` in `tx` (the single reconcile hook) and returns nothing
/// the SCIM response needs.
async fn recompute(
    tx: &mut dyn StoreTx,
    ctx: &WriteContext<'_>,
    users: &[UserId],
) -> ProvisionResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let cause = ctx.cause();
    // A request that would remove too many users at once holds its removals (DESIGN §10).
    let rule = crate::reconcile::RemovalRule::for_change(ctx.config);
    let results =
        crate::reconcile::directory_changed(tx, ctx.policy, &rule, users, &cause, ctx.now).await?;
    crate::reconcile::lifecycle::apply_lifecycle(tx, ctx.config, &results, &cause, ctx.now).await?;
    Ok(())
}

pub(crate) fn not_found(kind: &str, id: &str) -> ProvisionError {
    ScimError::not_found(format!("no {kind} with id {id:?}")).into()
}
