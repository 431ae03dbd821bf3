//! The store's traits: what the rest of idp-sync may ask of the database, in the words of
//! the domain ("add these users to this group"), never in SQL.
//!
//! * [`StoreRead`] — every read. Both the store (outside a transaction, on the read pool)
//!   and a transaction (seeing its own uncommitted writes) implement it.
//! * [`StoreTx`] — one open write transaction: reads, writes, then `commit`. Dropping it
//!   without committing rolls everything back.
//! * [`Store`] — the handle the application keeps (`Arc<dyn Store>`): admin operations,
//!   [`Store::begin`], and one-shot writes that each run in a transaction of their own.
//!
//! Why a transaction object rather than a list of operations applied at once: SCIM and
//! reconcile do read-modify-write — read the user and their groups, recompute access,
//! then write the user, the access, the audit and the outbox rows. With `begin()` they
//! do exactly that, in the order they think of it, and the reads inside the transaction
//! are consistent with the writes: on SQLite every write transaction starts with
//! `BEGIN IMMEDIATE` on the single writer connection (writers are serialised), and on
//! PostgreSQL the `*_for_update` reads take row locks.

use super::error::StoreError;
use super::review::{
    DeliveryListing, DeliveryQuery, HeldConfig, HeldConfigStatus, InvitationQuery, PendingRemoval,
    PendingRemovalQuery, PendingRemovalStatus, StoredPendingRemoval,
};
use super::types::{
    AuditQuery, ClaimedDelivery, Delivery, Engine, Grant, OutboxQuery, PoolStats, ScimListQuery,
    ScimPage, StoredAccess, StoredOutboxEvent, UserDoc, UserQuery,
};
use crate::domain::{
    AuditEvent, ConnectionId, GroupId, IdpGroup, IdpGroupRef, Invitation, InvitationStatus,
    OrgSlug, OutboxEvent, ResolvedAccess, RoleName, Session, SsoLogin, User, UserId,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub type StoreResult<T> = Result<T, StoreError>;

/// Every read the application needs. Methods returning `Option` answer `None` for a
/// missing row; lists come back in a stable order documented per method.
#[async_trait]
pub trait StoreRead: Send {
    // users
    async fn get_user(&mut self, id: &UserId) -> StoreResult<Option<User>>;
    /// The user with [`StoreRead::group_names_of_user`], in one statement (what
    /// `GET /Users/{id}` renders).
    async fn get_user_with_groups(
        &mut self,
        id: &UserId,
    ) -> StoreResult<Option<(User, Vec<(GroupId, String)>)>>;
    /// userName is compared case-insensitively (Unicode lower case).
    async fn find_user_by_user_name(
        &mut self,
        connection: &ConnectionId,
        user_name: &str,
    ) -> StoreResult<Option<User>>;
    async fn find_user_by_external_id(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> StoreResult<Option<User>>;
    async fn find_user_by_sso_subject(
        &mut self,
        connection: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<User>>;
    /// Ordered by id; continue with `after` = the last id.
    async fn list_users(&mut self, query: &UserQuery) -> StoreResult<Vec<User>>;

    // IdP groups
    async fn get_group(&mut self, id: &GroupId) -> StoreResult<Option<IdpGroup>>;
    async fn find_group_by_external_id(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> StoreResult<Option<IdpGroup>>;
    /// Display names are not unique; compared case-insensitively. Ordered by id.
    async fn find_groups_by_display_name(
        &mut self,
        connection: &ConnectionId,
        display_name: &str,
    ) -> StoreResult<Vec<IdpGroup>>;
    /// Groups of a connection (all connections when `None`), ordered by id.
    async fn list_groups(
        &mut self,
        connection: Option<&ConnectionId>,
        after: Option<&GroupId>,
        limit: u32,
    ) -> StoreResult<Vec<IdpGroup>>;
    /// Members ordered by user id; continue with `after` = the last id.
    async fn list_group_members(
        &mut self,
        group: &GroupId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>>;
    /// How many members the group has (an index-only count).
    async fn count_group_members(&mut self, group: &GroupId) -> StoreResult<u64>;
    /// Which of `users` are members of the group, sorted (for idempotent PATCH answers:
    /// what an add or remove will actually change). One statement per 1,000 ids.
    async fn members_among(
        &mut self,
        group: &GroupId,
        users: &[UserId],
    ) -> StoreResult<Vec<UserId>>;
    /// A page of the connection's users for SCIM (filter, sortBy, startIndex/count); see
    /// [`ScimListQuery`]. A filter the SQL translation refuses is
    /// [`StoreError::UnsupportedFilter`].
    async fn scim_list_users(&mut self, query: &ScimListQuery) -> StoreResult<ScimPage<User>>;
    /// The same, each user with [`StoreRead::group_names_of_user`], in one statement per
    /// page (plus the count when the page does not tell it).
    async fn scim_list_users_with_groups(
        &mut self,
        query: &ScimListQuery,
    ) -> StoreResult<ScimPage<(User, Vec<(GroupId, String)>)>>;
    /// The same for the connection's groups.
    async fn scim_list_groups(&mut self, query: &ScimListQuery) -> StoreResult<ScimPage<IdpGroup>>;
    /// What access resolution needs of the user's groups, sorted.
    async fn groups_of_user(&mut self, user: &UserId) -> StoreResult<Vec<IdpGroupRef>>;
    /// The groups the user is a member of, ordered by id (SCIM `groups` attribute).
    async fn group_ids_of_user(&mut self, user: &UserId) -> StoreResult<Vec<GroupId>>;
    /// The same with each group's displayName, in one statement: what a SCIM User
    /// renders.
    async fn group_names_of_user(&mut self, user: &UserId) -> StoreResult<Vec<(GroupId, String)>>;

    // access
    async fn get_access(&mut self, user: &UserId) -> StoreResult<Option<StoredAccess>>;
    /// Grants on an organization, ordered by user id.
    async fn grants_of_organization(&mut self, organization: &OrgSlug) -> StoreResult<Vec<Grant>>;
    /// How many users hold `role` (the last-Administrator rule).
    async fn count_users_with_role(&mut self, role: &RoleName) -> StoreResult<i64>;

    // invitations
    async fn get_invitation(&mut self, id: &str) -> StoreResult<Option<Invitation>>;
    async fn find_invitation_by_token_hash(
        &mut self,
        token_hash: &str,
    ) -> StoreResult<Option<Invitation>>;
    /// Newest first.
    async fn list_invitations(&mut self, user: &UserId) -> StoreResult<Vec<Invitation>>;

    // sessions
    async fn get_session(&mut self, id_hash: &str) -> StoreResult<Option<Session>>;

    // audit and outbox
    /// Newest first; continue with `before_seq` = the smallest seq of the page.
    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    async fn get_outbox_event(&mut self, id: &str) -> StoreResult<Option<StoredOutboxEvent>>;
    /// Oldest first; continue with `after_seq` = the largest seq of the page.
    async fn list_outbox_events(
        &mut self,
        query: &OutboxQuery,
    ) -> StoreResult<Vec<StoredOutboxEvent>>;
    /// Deliveries of one event, ordered by destination.
    async fn list_deliveries(&mut self, event_id: &str) -> StoreResult<Vec<Delivery>>;

    // what waits for an administrator (see `store::review`)
    /// Oldest first; continue with `after_seq` = the last seq of the page.
    async fn list_pending_removals(
        &mut self,
        query: &PendingRemovalQuery,
    ) -> StoreResult<Vec<StoredPendingRemoval>>;
    async fn get_pending_removal(&mut self, id: &str) -> StoreResult<Option<StoredPendingRemoval>>;
    /// How many users have access (invited or active): the base of the mass-removal share.
    async fn count_users_with_access(&mut self) -> StoreResult<i64>;
    /// Held config reloads, newest first (at most 100).
    async fn list_held_configs(
        &mut self,
        status: Option<HeldConfigStatus>,
    ) -> StoreResult<Vec<HeldConfig>>;
    async fn get_held_config(&mut self, fingerprint: &str) -> StoreResult<Option<HeldConfig>>;
    /// Deliveries in one state, oldest event first, then by destination.
    async fn list_deliveries_in_state(
        &mut self,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryListing>>;
    /// Users with a recorded access conflict, ordered by id.
    async fn list_conflicted_users(
        &mut self,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>>;
    /// Invitations of everyone, newest first.
    async fn list_all_invitations(
        &mut self,
        query: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>>;
}

/// One write transaction. Everything written through it commits together or not at all.
#[async_trait]
pub trait StoreTx: StoreRead {
    /// Reads the user and, on PostgreSQL, locks the row until the end of the transaction.
    async fn get_user_for_update(&mut self, id: &UserId) -> StoreResult<Option<User>>;
    async fn get_group_for_update(&mut self, id: &GroupId) -> StoreResult<Option<IdpGroup>>;
    /// Locks these users until the transaction ends, in id order (a no-op where writers are
    /// already serialised). Call before reading what their access is computed from.
    async fn lock_users(&mut self, ids: &[UserId]) -> StoreResult<()>;
    /// Serialises reading and changing who holds the top role (the last-Administrator rule).
    async fn lock_role_changes(&mut self) -> StoreResult<()>;

    /// Stores a new user. Inside a SQLite group commit the INSERT is sent with the
    /// request's next statement or its commit (sql/deferred.rs): a taken `userName` is then
    /// reported there, as the same [`StoreError::Conflict`].
    async fn create_user(&mut self, user: &User) -> StoreResult<()>;
    /// Writes `user` if the stored version is still `expected_version`, and returns it as
    /// stored, with `version = expected_version + 1`.
    async fn update_user(&mut self, user: &User, expected_version: i64) -> StoreResult<User>;
    /// Deletes the user and (by cascade) their memberships, access, invitations and
    /// sessions. Audit and outbox rows stay.
    async fn delete_user(&mut self, id: &UserId) -> StoreResult<()>;

    async fn create_group(&mut self, group: &IdpGroup) -> StoreResult<()>;
    async fn update_group(
        &mut self,
        group: &IdpGroup,
        expected_version: i64,
    ) -> StoreResult<IdpGroup>;
    async fn delete_group(&mut self, id: &GroupId) -> StoreResult<()>;
    /// Idempotent; returns how many were not members before. One row per member, one
    /// statement per 1,000 users: the cost follows the change, not the group's size.
    async fn add_group_members(&mut self, group: &GroupId, users: &[UserId]) -> StoreResult<u64>;
    /// Idempotent; returns how many were members before. One statement per 1,000 users.
    async fn remove_group_members(&mut self, group: &GroupId, users: &[UserId])
    -> StoreResult<u64>;
    /// Removes every member (SCIM PUT of a group replaces the list).
    async fn clear_group_members(&mut self, group: &GroupId) -> StoreResult<u64>;

    /// Replaces the user's access: one access row, one grant row per organization.
    /// Writes only the grants that changed.
    async fn set_access(
        &mut self,
        user: &UserId,
        access: &ResolvedAccess,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Removes the user's access; returns whether there was any.
    async fn clear_access(&mut self, user: &UserId) -> StoreResult<bool>;

    async fn create_invitation(&mut self, invitation: &Invitation) -> StoreResult<()>;
    async fn set_invitation_status(
        &mut self,
        id: &str,
        status: InvitationStatus,
    ) -> StoreResult<()>;
    /// Revokes the user's pending invitations; returns how many.
    async fn revoke_pending_invitations(&mut self, user: &UserId) -> StoreResult<u64>;

    async fn create_session(&mut self, session: &Session) -> StoreResult<()>;
    /// Records activity; returns false for an unknown or revoked session.
    async fn touch_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn revoke_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Revokes every live session of the user; returns how many.
    async fn revoke_sessions_of(&mut self, user: &UserId, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Appends an audit event. Inside a SQLite group commit it is sent with the request's
    /// next statement or its commit (sql/deferred.rs); its `seq` is read back with the log.
    async fn append_audit(&mut self, event: &AuditEvent) -> StoreResult<()>;
    /// Stores the event and one pending delivery per destination, due at `occurred_at`.
    /// Returns the event's `seq`.
    async fn enqueue_outbox_event(
        &mut self,
        event: &OutboxEvent,
        destinations: &[String],
    ) -> StoreResult<i64>;
    /// Claims up to `limit` due deliveries for `lease` (until `now + lease`), oldest
    /// first, at most one per (user, destination) so a user's events stay in order.
    /// Concurrent workers never receive the same delivery.
    async fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    async fn mark_delivered(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records a failed attempt; retried at `next_attempt_at`.
    async fn mark_retry(
        &mut self,
        event_id: &str,
        destination: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()>;
    /// Gives up on the delivery (dead letter).
    async fn mark_dead(
        &mut self,
        event_id: &str,
        destination: &str,
        error: &str,
    ) -> StoreResult<()>;
    /// Gives a pending delivery a private payload (an invitation email's link) that only its
    /// worker reads; erased when the delivery is delivered or dead. Call it in the
    /// transaction that enqueued the event.
    async fn set_delivery_secret(
        &mut self,
        event_id: &str,
        destination: &str,
        secret: &serde_json::Value,
    ) -> StoreResult<()>;
    /// Records, before a non-idempotent attempt (SMTP), that it is under way; cleared by
    /// `mark_delivered`, `mark_retry` and `mark_dead`. A claim that finds it still set
    /// knows the process died during that attempt.
    async fn mark_attempt_started(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Makes a dead delivery pending again, due at `now`, with `max_age` counted from
    /// `now`. False when no dead delivery has that key.
    async fn revive_dead_delivery(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Remembers a sign-in started here until the IdP answers. Forgets expired ones on the
    /// way. A key already in use is [`StoreError::Conflict`].
    async fn create_sso_login(&mut self, login: &SsoLogin, now: DateTime<Utc>) -> StoreResult<()>;
    /// Removes and returns the sign-in with that key (each is used once); `None` when
    /// unknown, already used or expired at `now`.
    async fn take_sso_login(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SsoLogin>>;
    /// Stores a waiting removal unless the user already has one pending; returns whether
    /// it was stored.
    async fn hold_removal(&mut self, removal: &PendingRemoval) -> StoreResult<bool>;
    /// Decides a pending removal (approved, rejected, obsolete); false when it is not
    /// pending any more.
    async fn decide_removal(
        &mut self,
        id: &str,
        status: PendingRemovalStatus,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks the user's pending removal superseded (their access was removed directly).
    async fn supersede_removals_of(
        &mut self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Records a config reload held as a mass removal (an approved one stays approved).
    async fn hold_config(&mut self, held: &HeldConfig) -> StoreResult<()>;
    /// Approves or rejects a held reload; false when it is not held any more.
    async fn decide_held_config(
        &mut self,
        fingerprint: &str,
        status: HeldConfigStatus,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Remembers a SAML assertion id until `expires_at`; false when it was seen before
    /// (a replay). Forgets expired ids on the way.
    async fn remember_assertion(
        &mut self,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    async fn commit(self: Box<Self>) -> StoreResult<()>;
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// The application's handle on the database; cheap to share as `Arc<dyn Store>`.
///
/// The reads of [`StoreRead`] take `&mut self` so a transaction can implement them too;
/// on the store use [`Store::read`] (`store.read().await?.get_user(&id)`), which hands out
/// a pooled connection, or the shortcuts below for the most common lookups.
#[async_trait]
pub trait Store: Send + Sync {
    fn engine(&self) -> Engine;
    /// Reads answered on the calling task, where the engine has them (a SQLite file):
    /// see [`PointReads`]. `None`: use [`Store::read`].
    fn point_reads(&self) -> Option<&dyn PointReads> {
        None
    }
    fn pool_stats(&self) -> PoolStats;
    /// Brings the schema to the latest version; a no-op when it is there already.
    async fn migrate(&self) -> StoreResult<()>;
    /// One round trip to the database (readiness).
    async fn ping(&self) -> StoreResult<()>;
    /// A connection for reads outside any transaction.
    async fn read(&self) -> StoreResult<Box<dyn StoreRead>>;
    /// Opens a write transaction.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;
    async fn close(&self);

    // Shortcuts: the frequent reads, and writes that are a whole change by themselves.
    async fn get_user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.read().await?.get_user(id).await
    }
    async fn find_user_by_user_name(
        &self,
        connection: &ConnectionId,
        user_name: &str,
    ) -> StoreResult<Option<User>> {
        self.read()
            .await?
            .find_user_by_user_name(connection, user_name)
            .await
    }
    async fn find_user_by_external_id(
        &self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        self.read()
            .await?
            .find_user_by_external_id(connection, external_id)
            .await
    }
    async fn find_user_by_sso_subject(
        &self,
        connection: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<User>> {
        self.read()
            .await?
            .find_user_by_sso_subject(connection, subject)
            .await
    }
    async fn list_users(&self, query: &UserQuery) -> StoreResult<Vec<User>> {
        self.read().await?.list_users(query).await
    }
    async fn get_group(&self, id: &GroupId) -> StoreResult<Option<IdpGroup>> {
        self.read().await?.get_group(id).await
    }
    async fn list_group_members(
        &self,
        group: &GroupId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        self.read()
            .await?
            .list_group_members(group, after, limit)
            .await
    }
    async fn groups_of_user(&self, user: &UserId) -> StoreResult<Vec<IdpGroupRef>> {
        self.read().await?.groups_of_user(user).await
    }
    async fn count_group_members(&self, group: &GroupId) -> StoreResult<u64> {
        self.read().await?.count_group_members(group).await
    }
    async fn scim_list_users(&self, query: &ScimListQuery) -> StoreResult<ScimPage<User>> {
        self.read().await?.scim_list_users(query).await
    }
    async fn scim_list_groups(&self, query: &ScimListQuery) -> StoreResult<ScimPage<IdpGroup>> {
        self.read().await?.scim_list_groups(query).await
    }
    async fn get_access(&self, user: &UserId) -> StoreResult<Option<StoredAccess>> {
        self.read().await?.get_access(user).await
    }
    async fn find_invitation_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<Invitation>> {
        self.read()
            .await?
            .find_invitation_by_token_hash(token_hash)
            .await
    }
    async fn list_invitations(&self, user: &UserId) -> StoreResult<Vec<Invitation>> {
        self.read().await?.list_invitations(user).await
    }
    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        self.read().await?.get_session(id_hash).await
    }
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        self.read().await?.list_audit(query).await
    }
    async fn list_outbox_events(&self, query: &OutboxQuery) -> StoreResult<Vec<StoredOutboxEvent>> {
        self.read().await?.list_outbox_events(query).await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.create_user(user).await?;
        tx.commit().await
    }
    async fn update_user(&self, user: &User, expected_version: i64) -> StoreResult<User> {
        let mut tx = self.begin().await?;
        let stored = tx.update_user(user, expected_version).await?;
        tx.commit().await?;
        Ok(stored)
    }
    async fn delete_user(&self, id: &UserId) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.delete_user(id).await?;
        tx.commit().await
    }
    async fn create_group(&self, group: &IdpGroup) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.create_group(group).await?;
        tx.commit().await
    }
    async fn update_group(&self, group: &IdpGroup, expected_version: i64) -> StoreResult<IdpGroup> {
        let mut tx = self.begin().await?;
        let stored = tx.update_group(group, expected_version).await?;
        tx.commit().await?;
        Ok(stored)
    }
    async fn delete_group(&self, id: &GroupId) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.delete_group(id).await?;
        tx.commit().await
    }
    async fn add_group_members(&self, group: &GroupId, users: &[UserId]) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx.add_group_members(group, users).await?;
        tx.commit().await?;
        Ok(n)
    }
    async fn remove_group_members(&self, group: &GroupId, users: &[UserId]) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx.remove_group_members(group, users).await?;
        tx.commit().await?;
        Ok(n)
    }
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.create_session(session).await?;
        tx.commit().await
    }
    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let found = tx.touch_session(id_hash, now).await?;
        tx.commit().await?;
        Ok(found)
    }
    async fn revoke_sessions_of(&self, user: &UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx.revoke_sessions_of(user, now).await?;
        tx.commit().await?;
        Ok(n)
    }
    /// A standalone audit record (config reloads, refusals).
    async fn append_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.append_audit(event).await?;
        tx.commit().await
    }
    async fn remember_assertion(
        &self,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let fresh = tx.remember_assertion(assertion_id, expires_at, now).await?;
        tx.commit().await?;
        Ok(fresh)
    }
}

/// Indexed reads answered on the calling task, without a pool or a worker thread, for an
/// engine where such a read costs microseconds (a local SQLite file; see
/// `store/sqlite/point.rs`). Each answers `None` when it cannot (the query is not a point
/// read, or the database reported an error): the caller then reads through
/// [`Store::read`] as usual, which reports errors the usual way.
pub trait PointReads: Send + Sync {
    /// The user `id` with its groups; `Some(None)` when there is no such user.
    fn user(&self, id: &UserId) -> Option<Option<UserDoc>>;
    /// A page of [`StoreRead::scim_list_users`] when its filter is an equality on a key
    /// unique within a connection (`userName`, `externalId`, `id`) and it has no
    /// `sortBy`; each user with its groups when `with_groups`.
    fn users(&self, query: &ScimListQuery, with_groups: bool) -> Option<ScimPage<UserDoc>>;
}
