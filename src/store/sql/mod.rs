//! The store's SQL, written once and compiled once per engine.
//!
//! This folder is not a module of its own: `sqlite.rs` and `postgres.rs` each include it
//! with `#[path = "sql/mod.rs"] mod sql;`, after defining the handful of names in which
//! the engines differ — `Db`, `Conn`, `ENGINE`, `MIGRATOR`, `ts` (how a timestamp is
//! bound), `SEQ_RETURNING` and `inserted_seq` (how an insert returns its `seq`),
//! `DIALECT` (how a SCIM filter reads JSON), `FOR_UPDATE`, `FOR_UPDATE_SKIP_LOCKED` and
//! `begin_write` (`BEGIN IMMEDIATE` on SQLite). No query here branches on the engine.
//! Placeholders are `$1, $2, …` for both: sqlx's SQLite driver reads them as positional
//! parameters.

use super::{
    BEGIN_BATCH, Conn, DIALECT, Db, ENGINE, FOR_NO_KEY_UPDATE, FOR_UPDATE, FOR_UPDATE_SKIP_LOCKED,
    GROUP_COMMIT, GROUP_NAMES_OF_USER, GROUP_REFS_OF_USER, MIGRATOR, ROLE_CHANGE_LOCK,
    SEQ_RETURNING, USER_GROUPS_JSON, begin_write, inserted_seq, ts,
};
use crate::domain::{
    AuditEvent, ConnectionId, GroupId, IdpGroup, IdpGroupRef, Invitation, InvitationStatus,
    OrgSlug, OutboxEvent, ResolvedAccess, RoleName, Session, SsoLogin, User, UserId,
};
use crate::store::api::{PointReads, Store, StoreRead, StoreResult, StoreTx};
use crate::store::review::{
    DeliveryListing, DeliveryQuery, HeldConfig, HeldConfigStatus, InvitationQuery, PendingRemoval,
    PendingRemovalQuery, PendingRemovalStatus, StoredPendingRemoval,
};
use crate::store::types::{
    AuditQuery, ClaimedDelivery, Delivery, Engine, Grant, OutboxQuery, PoolStats, ScimListQuery,
    ScimPage, StoredAccess, StoredOutboxEvent, UserQuery,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{Pool, Transaction};

mod access;
mod audit;
mod batch;
mod deferred;
mod groups;
mod lifecycle;
mod outbox;
mod review;
mod scim;
mod users;

/// A store on one engine: a pool for reads and one for write transactions (the same
/// pool on PostgreSQL; a single connection on SQLite), and on SQLite the group-commit
/// writer that owns the write pool (`batch.rs`).
pub(super) struct SqlStore {
    read: Pool<Db>,
    write: Pool<Db>,
    batch: Option<batch::Batcher>,
    /// Reads on the calling task (a SQLite file).
    point: Option<Box<dyn PointReads>>,
    /// Work that lives as long as the store (SQLite's WAL checkpoint thread).
    _background: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

impl SqlStore {
    /// Starts the group-commit writer, where the engine uses one, on the current runtime.
    pub(super) fn new(read: Pool<Db>, write: Pool<Db>) -> Self {
        let batch = GROUP_COMMIT.then(|| batch::Batcher::start(write.clone(), BEGIN_BATCH));
        Self {
            read,
            write,
            batch,
            point: None,
            _background: Vec::new(),
        }
    }

    /// With point reads answered by `point` ([`Store::point_reads`]).
    #[allow(dead_code, reason = "only the SQLite engine has point reads")]
    pub(super) fn with_point_reads(mut self, point: Box<dyn PointReads>) -> Self {
        self.point = Some(point);
        self
    }

    /// Keeps `work` (a thread's handle) alive as long as the store.
    #[allow(dead_code, reason = "only the SQLite engine has background work")]
    pub(super) fn with_background(mut self, work: Box<dyn std::any::Any + Send + Sync>) -> Self {
        self._background.push(work);
        self
    }
}

/// A pooled connection (reads), an open transaction of its own, or a turn inside a group
/// commit (reads and writes).
enum Handle {
    Read(PoolConnection<Db>),
    Write(Transaction<'static, Db>),
    Batched(batch::Lease),
}

struct SqlHandle(Handle);

/// A query with its arguments, as the binding helpers of the submodules build it.
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

impl SqlHandle {
    /// The connection, ready for a statement (in a group commit: the request's savepoint
    /// open and its held-back writes sent, see batch.rs).
    async fn conn(&mut self) -> StoreResult<&mut Conn> {
        match &mut self.0 {
            Handle::Read(c) => Ok(c),
            Handle::Write(t) => Ok(t),
            Handle::Batched(l) => l.conn().await,
        }
    }

    /// In a group commit, holds the write `make` builds back until the request's next
    /// statement or its commit (sql/deferred.rs) and answers true; elsewhere false, and the
    /// caller runs it now.
    fn defer(&mut self, make: impl FnOnce() -> deferred::Deferred) -> bool {
        match &mut self.0 {
            Handle::Batched(lease) => {
                lease.defer(make());
                true
            }
            Handle::Read(_) | Handle::Write(_) => false,
        }
    }
}

#[async_trait]
impl Store for SqlStore {
    fn engine(&self) -> Engine {
        ENGINE
    }

    fn point_reads(&self) -> Option<&dyn PointReads> {
        self.point.as_deref()
    }

    fn pool_stats(&self) -> PoolStats {
        let mut stats = PoolStats {
            size: self.read.size(),
            idle: self.read.num_idle(),
        };
        if ENGINE == Engine::Sqlite && !self.write.is_closed() {
            stats.size += self.write.size();
            stats.idle += self.write.num_idle();
        }
        stats
    }

    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.write).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn read(&self) -> StoreResult<Box<dyn StoreRead>> {
        Ok(Box::new(SqlHandle(Handle::Read(
            self.read.acquire().await?,
        ))))
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        let handle = match &self.batch {
            Some(batch) => Handle::Batched(batch.begin().await?),
            None => Handle::Write(begin_write(&self.write).await?),
        };
        Ok(Box::new(SqlHandle(handle)))
    }

    async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

#[async_trait]
impl StoreRead for SqlHandle {
    async fn get_user(&mut self, id: &UserId) -> StoreResult<Option<User>> {
        users::get(self.conn().await?, id, false).await
    }
    async fn get_user_with_groups(
        &mut self,
        id: &UserId,
    ) -> StoreResult<Option<(User, Vec<(GroupId, String)>)>> {
        users::get_with_groups(self.conn().await?, id).await
    }
    async fn find_user_by_user_name(
        &mut self,
        connection: &ConnectionId,
        user_name: &str,
    ) -> StoreResult<Option<User>> {
        users::find_by(
            self.conn().await?,
            users::Key::UserName,
            connection,
            user_name,
        )
        .await
    }
    async fn find_user_by_external_id(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        users::find_by(
            self.conn().await?,
            users::Key::ExternalId,
            connection,
            external_id,
        )
        .await
    }
    async fn find_user_by_sso_subject(
        &mut self,
        connection: &ConnectionId,
        subject: &str,
    ) -> StoreResult<Option<User>> {
        users::find_by(
            self.conn().await?,
            users::Key::SsoSubject,
            connection,
            subject,
        )
        .await
    }
    async fn list_users(&mut self, query: &UserQuery) -> StoreResult<Vec<User>> {
        users::list(self.conn().await?, query).await
    }

    async fn get_group(&mut self, id: &GroupId) -> StoreResult<Option<IdpGroup>> {
        groups::get(self.conn().await?, id, false).await
    }
    async fn find_group_by_external_id(
        &mut self,
        connection: &ConnectionId,
        external_id: &str,
    ) -> StoreResult<Option<IdpGroup>> {
        groups::find_by_external_id(self.conn().await?, connection, external_id).await
    }
    async fn find_groups_by_display_name(
        &mut self,
        connection: &ConnectionId,
        display_name: &str,
    ) -> StoreResult<Vec<IdpGroup>> {
        groups::find_by_display_name(self.conn().await?, connection, display_name).await
    }
    async fn list_groups(
        &mut self,
        connection: Option<&ConnectionId>,
        after: Option<&GroupId>,
        limit: u32,
    ) -> StoreResult<Vec<IdpGroup>> {
        groups::list(self.conn().await?, connection, after, limit).await
    }
    async fn list_group_members(
        &mut self,
        group: &GroupId,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<UserId>> {
        groups::members(self.conn().await?, group, after, limit).await
    }
    async fn count_group_members(&mut self, group: &GroupId) -> StoreResult<u64> {
        groups::count_members(self.conn().await?, group).await
    }
    async fn members_among(
        &mut self,
        group: &GroupId,
        users: &[UserId],
    ) -> StoreResult<Vec<UserId>> {
        groups::members_among(self.conn().await?, group, users).await
    }
    async fn scim_list_users(&mut self, query: &ScimListQuery) -> StoreResult<ScimPage<User>> {
        scim::list_users(self.conn().await?, query).await
    }
    async fn scim_list_users_with_groups(
        &mut self,
        query: &ScimListQuery,
    ) -> StoreResult<ScimPage<(User, Vec<(GroupId, String)>)>> {
        scim::list_users_with_groups(self.conn().await?, query).await
    }
    async fn scim_list_groups(&mut self, query: &ScimListQuery) -> StoreResult<ScimPage<IdpGroup>> {
        scim::list_groups(self.conn().await?, query).await
    }
    async fn groups_of_user(&mut self, user: &UserId) -> StoreResult<Vec<IdpGroupRef>> {
        groups::refs_of_user(self.conn().await?, user).await
    }
    async fn group_ids_of_user(&mut self, user: &UserId) -> StoreResult<Vec<GroupId>> {
        groups::ids_of_user(self.conn().await?, user).await
    }
    async fn group_names_of_user(&mut self, user: &UserId) -> StoreResult<Vec<(GroupId, String)>> {
        groups::names_of_user(self.conn().await?, user).await
    }

    async fn get_access(&mut self, user: &UserId) -> StoreResult<Option<StoredAccess>> {
        access::get(self.conn().await?, user).await
    }
    async fn grants_of_organization(&mut self, organization: &OrgSlug) -> StoreResult<Vec<Grant>> {
        access::grants_of_organization(self.conn().await?, organization).await
    }
    async fn count_users_with_role(&mut self, role: &RoleName) -> StoreResult<i64> {
        access::count_with_role(self.conn().await?, role).await
    }

    async fn get_invitation(&mut self, id: &str) -> StoreResult<Option<Invitation>> {
        lifecycle::get(self.conn().await?, lifecycle::Key::Id, id).await
    }
    async fn find_invitation_by_token_hash(
        &mut self,
        token_hash: &str,
    ) -> StoreResult<Option<Invitation>> {
        lifecycle::get(self.conn().await?, lifecycle::Key::TokenHash, token_hash).await
    }
    async fn list_invitations(&mut self, user: &UserId) -> StoreResult<Vec<Invitation>> {
        lifecycle::list_of_user(self.conn().await?, user).await
    }

    async fn get_session(&mut self, id_hash: &str) -> StoreResult<Option<Session>> {
        lifecycle::get_session(self.conn().await?, id_hash).await
    }

    async fn list_audit(&mut self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        audit::list(self.conn().await?, query).await
    }
    async fn get_outbox_event(&mut self, id: &str) -> StoreResult<Option<StoredOutboxEvent>> {
        outbox::get(self.conn().await?, id).await
    }
    async fn list_outbox_events(
        &mut self,
        query: &OutboxQuery,
    ) -> StoreResult<Vec<StoredOutboxEvent>> {
        outbox::list(self.conn().await?, query).await
    }
    async fn list_pending_removals(
        &mut self,
        query: &PendingRemovalQuery,
    ) -> StoreResult<Vec<StoredPendingRemoval>> {
        review::list_removals(self.conn().await?, query).await
    }
    async fn get_pending_removal(&mut self, id: &str) -> StoreResult<Option<StoredPendingRemoval>> {
        review::get_removal(self.conn().await?, id).await
    }
    async fn count_users_with_access(&mut self) -> StoreResult<i64> {
        review::count_users_with_access(self.conn().await?).await
    }
    async fn list_held_configs(
        &mut self,
        status: Option<HeldConfigStatus>,
    ) -> StoreResult<Vec<HeldConfig>> {
        review::list_held_configs(self.conn().await?, status).await
    }
    async fn get_held_config(&mut self, fingerprint: &str) -> StoreResult<Option<HeldConfig>> {
        review::get_held_config(self.conn().await?, fingerprint).await
    }
    async fn list_deliveries_in_state(
        &mut self,
        query: &DeliveryQuery,
    ) -> StoreResult<Vec<DeliveryListing>> {
        review::list_deliveries(self.conn().await?, query).await
    }
    async fn list_conflicted_users(
        &mut self,
        after: Option<&UserId>,
        limit: u32,
    ) -> StoreResult<Vec<User>> {
        review::list_conflicted_users(self.conn().await?, after, limit).await
    }
    async fn list_all_invitations(
        &mut self,
        query: &InvitationQuery,
    ) -> StoreResult<Vec<Invitation>> {
        review::list_invitations(self.conn().await?, query).await
    }
    async fn list_deliveries(&mut self, event_id: &str) -> StoreResult<Vec<Delivery>> {
        outbox::deliveries(self.conn().await?, event_id).await
    }
}

#[async_trait]
impl StoreTx for SqlHandle {
    async fn get_user_for_update(&mut self, id: &UserId) -> StoreResult<Option<User>> {
        users::get(self.conn().await?, id, true).await
    }
    async fn get_group_for_update(&mut self, id: &GroupId) -> StoreResult<Option<IdpGroup>> {
        groups::get(self.conn().await?, id, true).await
    }
    async fn lock_users(&mut self, ids: &[UserId]) -> StoreResult<()> {
        users::lock(self.conn().await?, ids).await
    }
    async fn lock_role_changes(&mut self) -> StoreResult<()> {
        users::lock_role_changes(self.conn().await?).await
    }

    async fn create_user(&mut self, user: &User) -> StoreResult<()> {
        if self.defer(|| deferred::Deferred::CreateUser(Box::new(user.clone()))) {
            return Ok(());
        }
        users::create(self.conn().await?, user).await
    }
    async fn update_user(&mut self, user: &User, expected_version: i64) -> StoreResult<User> {
        users::update(self.conn().await?, user, expected_version).await
    }
    async fn delete_user(&mut self, id: &UserId) -> StoreResult<()> {
        users::delete(self.conn().await?, id).await
    }

    async fn create_group(&mut self, group: &IdpGroup) -> StoreResult<()> {
        groups::create(self.conn().await?, group).await
    }
    async fn update_group(
        &mut self,
        group: &IdpGroup,
        expected_version: i64,
    ) -> StoreResult<IdpGroup> {
        groups::update(self.conn().await?, group, expected_version).await
    }
    async fn delete_group(&mut self, id: &GroupId) -> StoreResult<()> {
        groups::delete(self.conn().await?, id).await
    }
    async fn add_group_members(&mut self, group: &GroupId, users: &[UserId]) -> StoreResult<u64> {
        groups::add_members(self.conn().await?, group, users).await
    }
    async fn remove_group_members(
        &mut self,
        group: &GroupId,
        users: &[UserId],
    ) -> StoreResult<u64> {
        groups::remove_members(self.conn().await?, group, users).await
    }
    async fn clear_group_members(&mut self, group: &GroupId) -> StoreResult<u64> {
        groups::clear_members(self.conn().await?, group).await
    }

    async fn set_access(
        &mut self,
        user: &UserId,
        access: &ResolvedAccess,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        access::set(self.conn().await?, user, access, now).await
    }
    async fn clear_access(&mut self, user: &UserId) -> StoreResult<bool> {
        access::clear(self.conn().await?, user).await
    }

    async fn create_invitation(&mut self, invitation: &Invitation) -> StoreResult<()> {
        lifecycle::create(self.conn().await?, invitation).await
    }
    async fn set_invitation_status(
        &mut self,
        id: &str,
        status: InvitationStatus,
    ) -> StoreResult<()> {
        lifecycle::set_status(self.conn().await?, id, status).await
    }
    async fn revoke_pending_invitations(&mut self, user: &UserId) -> StoreResult<u64> {
        lifecycle::revoke_pending(self.conn().await?, user).await
    }

    async fn create_session(&mut self, session: &Session) -> StoreResult<()> {
        lifecycle::create_session(self.conn().await?, session).await
    }
    async fn touch_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        lifecycle::touch_session(self.conn().await?, id_hash, now).await
    }
    async fn revoke_session(&mut self, id_hash: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        lifecycle::revoke_session(self.conn().await?, id_hash, now).await
    }
    async fn revoke_sessions_of(&mut self, user: &UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        lifecycle::revoke_sessions_of(self.conn().await?, user, now).await
    }

    async fn append_audit(&mut self, event: &AuditEvent) -> StoreResult<()> {
        if self.defer(|| deferred::Deferred::AppendAudit(Box::new(event.clone()))) {
            return Ok(());
        }
        audit::append(self.conn().await?, event).await
    }
    async fn enqueue_outbox_event(
        &mut self,
        event: &OutboxEvent,
        destinations: &[String],
    ) -> StoreResult<i64> {
        outbox::enqueue(self.conn().await?, event, destinations).await
    }
    async fn claim_deliveries(
        &mut self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        outbox::claim(self.conn().await?, now, lease, limit).await
    }
    async fn mark_delivered(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        outbox::mark_delivered(self.conn().await?, event_id, destination, now).await
    }
    async fn mark_retry(
        &mut self,
        event_id: &str,
        destination: &str,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<()> {
        outbox::mark_retry(
            self.conn().await?,
            event_id,
            destination,
            next_attempt_at,
            error,
        )
        .await
    }
    async fn mark_dead(
        &mut self,
        event_id: &str,
        destination: &str,
        error: &str,
    ) -> StoreResult<()> {
        outbox::mark_dead(self.conn().await?, event_id, destination, error).await
    }
    async fn set_delivery_secret(
        &mut self,
        event_id: &str,
        destination: &str,
        secret: &serde_json::Value,
    ) -> StoreResult<()> {
        outbox::set_secret(self.conn().await?, event_id, destination, secret).await
    }
    async fn mark_attempt_started(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        outbox::mark_attempt_started(self.conn().await?, event_id, destination, now).await
    }
    async fn revive_dead_delivery(
        &mut self,
        event_id: &str,
        destination: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        outbox::revive_dead(self.conn().await?, event_id, destination, now).await
    }

    async fn create_sso_login(&mut self, login: &SsoLogin, now: DateTime<Utc>) -> StoreResult<()> {
        lifecycle::create_sso_login(self.conn().await?, login, now).await
    }
    async fn take_sso_login(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SsoLogin>> {
        lifecycle::take_sso_login(self.conn().await?, key, now).await
    }
    async fn hold_removal(&mut self, removal: &PendingRemoval) -> StoreResult<bool> {
        review::hold_removal(self.conn().await?, removal).await
    }
    async fn decide_removal(
        &mut self,
        id: &str,
        status: PendingRemovalStatus,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        review::decide_removal(self.conn().await?, id, status, by, now).await
    }
    async fn supersede_removals_of(
        &mut self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        review::supersede_removals_of(self.conn().await?, user, now).await
    }
    async fn hold_config(&mut self, held: &HeldConfig) -> StoreResult<()> {
        review::hold_config(self.conn().await?, held).await
    }
    async fn decide_held_config(
        &mut self,
        fingerprint: &str,
        status: HeldConfigStatus,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        review::decide_held_config(self.conn().await?, fingerprint, status, by, now).await
    }
    async fn remember_assertion(
        &mut self,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        lifecycle::remember_assertion(self.conn().await?, assertion_id, expires_at, now).await
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        match self.0 {
            Handle::Write(tx) => tx.commit().await?,
            Handle::Batched(lease) => lease.commit().await?,
            Handle::Read(_) => {}
        }
        Ok(())
    }
    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        match self.0 {
            Handle::Write(tx) => tx.rollback().await?,
            Handle::Batched(lease) => lease.rollback(),
            Handle::Read(_) => {}
        }
        Ok(())
    }
}

/// `$first, $first+1, …`: `n` numbered parameters (both engines accept `$n`).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an optimistic `UPDATE … WHERE id = $1 AND version = $n` changed no row: the row is
/// gone, or it is at another version.
async fn version_miss(
    c: &mut Conn,
    table: &'static str,
    id: &str,
    expected: i64,
) -> crate::store::StoreError {
    use crate::store::StoreError;
    let sql = format!("SELECT version FROM {table} WHERE id = $1");
    match sqlx::query_scalar::<Db, i64>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await
    {
        Ok(None) => StoreError::NotFound,
        Ok(Some(actual)) => StoreError::VersionMismatch { expected, actual },
        Err(e) => e.into(),
    }
}
