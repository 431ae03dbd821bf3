//! SCIM Groups: create, read, replace (PUT), patch, delete. Membership changes are row
//! inserts and deletes; only the users whose membership changed are recomputed.

use super::{
    Precondition, ProvisionResult, WriteContext, check_precondition, not_found, recompute,
};
use crate::domain::{ConnectionId, GroupId, IdpGroup, UserId};
use crate::scim::error::ScimError;
use crate::scim::patch::{MemberChange, PatchRequest};
use crate::scim::resource::{self, GroupWrite};
use crate::scim::schema::CoreSchema;
use crate::store::{Store, StoreRead, StoreTx};
use serde_json::json;
use std::collections::BTreeSet;

/// Members are read in pages of this many when a whole list is needed (PUT, delete).
const MEMBER_PAGE: u32 = 5_000;

#[derive(Clone, Debug)]
pub struct GroupView {
    pub group: IdpGroup,
    /// Member ids, when they were asked for.
    pub members: Option<Vec<UserId>>,
}

/// How many memberships a write added and removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupChange {
    pub added: u64,
    pub removed: u64,
}

pub async fn create_group(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    write: GroupWrite,
) -> ProvisionResult<GroupView> {
    let mut group = IdpGroup::new(ctx.connection.clone(), write.display_name, ctx.now);
    group.external_id = write.external_id;
    let members = ids(&write.members);
    let mut tx = store.begin().await?;
    tx.create_group(&group).await?;
    ensure_members(tx.as_mut(), ctx.connection, &members).await?;
    tx.add_group_members(&group.id, &members).await?;
    let event = ctx.audit("scim.group_created").with_detail(
        json!({ "group": group.id, "display_name": group.display_name, "members": members.len() }),
    );
    tx.append_audit(&event).await?;
    recompute(tx.as_mut(), ctx, &members).await?;
    tx.commit().await?;
    Ok(GroupView {
        group,
        members: Some(members),
    })
}

/// Reads a group; its members only when `with_members` (they may be many).
pub async fn get_group(
    store: &dyn Store,
    connection: &ConnectionId,
    id: &GroupId,
    with_members: bool,
) -> ProvisionResult<GroupView> {
    let mut read = store.read().await?;
    let group = owned_group(read.get_group(id).await?, connection, id)?;
    let members = if with_members {
        Some(all_members(read.as_mut(), id).await?)
    } else {
        None
    };
    Ok(GroupView { group, members })
}

/// PUT: name, externalId and the complete member list (JumpCloud, Okta full pushes).
pub async fn replace_group(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &GroupId,
    write: GroupWrite,
    precondition: Precondition<'_>,
) -> ProvisionResult<(GroupView, GroupChange)> {
    let mut tx = store.begin().await?;
    let current = owned_group(tx.get_group_for_update(id).await?, ctx.connection, id)?;
    check_precondition(precondition, current.version)?;
    let desired = ids(&write.members);
    let existing = all_members(tx.as_mut(), id).await?;
    let (change, touched) = set_members(tx.as_mut(), ctx, id, &existing, &desired).await?;
    let mut next = current.clone();
    next.display_name = write.display_name;
    next.external_id = write.external_id;
    let group = save(
        tx.as_mut(),
        ctx,
        current,
        next,
        change,
        "scim.group_replaced",
    )
    .await?;
    recompute(tx.as_mut(), ctx, &touched).await?;
    tx.commit().await?;
    Ok((
        GroupView {
            group,
            members: Some(desired),
        },
        change,
    ))
}

/// PATCH: attribute changes (a rename) and member operations, in request order, atomically.
pub async fn patch_group(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &GroupId,
    patch: &PatchRequest,
    precondition: Precondition<'_>,
    base_url: &str,
) -> ProvisionResult<(GroupView, GroupChange)> {
    let mut tx = store.begin().await?;
    let current = owned_group(tx.get_group_for_update(id).await?, ctx.connection, id)?;
    check_precondition(precondition, current.version)?;
    let rendered = resource::render_group(&current, None, base_url);
    let plan = crate::scim::patch::plan_group(patch, &rendered, &CoreSchema)?;
    let attributes = resource::parse_group(&plan.resource)?;

    let mut change = GroupChange::default();
    let mut touched: BTreeSet<UserId> = BTreeSet::new();
    for op in plan.members {
        match op {
            MemberChange::Add(list) => {
                let list = ids(&list);
                ensure_members(tx.as_mut(), ctx.connection, &list).await?;
                change.added += tx.add_group_members(id, &list).await?;
                touched.extend(list);
            }
            MemberChange::Remove(list) => {
                // Only users who really were members are recomputed: ids of other
                // connections' users, or of non-members, touch nobody.
                let members = tx.members_among(id, &ids(&list)).await?;
                change.removed += tx.remove_group_members(id, &members).await?;
                touched.extend(members);
            }
            MemberChange::RemoveAll => {
                let existing = all_members(tx.as_mut(), id).await?;
                change.removed += tx.clear_group_members(id).await?;
                touched.extend(existing);
            }
            MemberChange::Replace(list) => {
                let desired = ids(&list);
                let existing = all_members(tx.as_mut(), id).await?;
                let (c, t) = set_members(tx.as_mut(), ctx, id, &existing, &desired).await?;
                change.added += c.added;
                change.removed += c.removed;
                touched.extend(t);
            }
        }
    }
    let mut next = current.clone();
    next.display_name = attributes.display_name;
    next.external_id = attributes.external_id;
    let group = save(
        tx.as_mut(),
        ctx,
        current,
        next,
        change,
        "scim.group_patched",
    )
    .await?;
    let touched: Vec<UserId> = touched.into_iter().collect();
    recompute(tx.as_mut(), ctx, &touched).await?;
    tx.commit().await?;
    Ok((
        GroupView {
            group,
            members: None,
        },
        change,
    ))
}

pub async fn delete_group(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &GroupId,
) -> ProvisionResult<()> {
    let mut tx = store.begin().await?;
    let group = owned_group(tx.get_group_for_update(id).await?, ctx.connection, id)?;
    let members = all_members(tx.as_mut(), id).await?;
    tx.delete_group(id).await?;
    let event = ctx.audit("scim.group_deleted").with_detail(
        json!({ "group": group.id, "display_name": group.display_name, "members": members.len() }),
    );
    tx.append_audit(&event).await?;
    recompute(tx.as_mut(), ctx, &members).await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the group row when anything changed (a membership change bumps the version, so
/// the ETag follows), with one audit record.
async fn save(
    tx: &mut dyn StoreTx,
    ctx: &WriteContext<'_>,
    current: IdpGroup,
    mut next: IdpGroup,
    change: GroupChange,
    kind: &str,
) -> ProvisionResult<IdpGroup> {
    let renamed = next.display_name != current.display_name;
    if !renamed && next.external_id == current.external_id && change == GroupChange::default() {
        return Ok(current);
    }
    next.updated_at = ctx.now;
    let group = tx.update_group(&next, current.version).await?;
    let mut detail = json!({ "group": group.id, "added": change.added, "removed": change.removed });
    if renamed {
        detail["renamed_from"] = json!(current.display_name);
        detail["display_name"] = json!(group.display_name);
    }
    tx.append_audit(&ctx.audit(kind).with_detail(detail))
        .await?;
    Ok(group)
}

/// Makes the member set `desired`; returns the counts and the users whose membership changed.
async fn set_members(
    tx: &mut dyn StoreTx,
    ctx: &WriteContext<'_>,
    id: &GroupId,
    existing: &[UserId],
    desired: &[UserId],
) -> ProvisionResult<(GroupChange, Vec<UserId>)> {
    let existing: BTreeSet<&UserId> = existing.iter().collect();
    let desired_set: BTreeSet<&UserId> = desired.iter().collect();
    let to_add: Vec<UserId> = desired_set
        .difference(&existing)
        .map(|u| (*u).clone())
        .collect();
    let to_remove: Vec<UserId> = existing
        .difference(&desired_set)
        .map(|u| (*u).clone())
        .collect();
    ensure_members(tx, ctx.connection, &to_add).await?;
    let change = GroupChange {
        added: tx.add_group_members(id, &to_add).await?,
        removed: tx.remove_group_members(id, &to_remove).await?,
    };
    // Sorted, so that concurrent writers lock users' rows in the same order.
    let touched: BTreeSet<UserId> = to_add.into_iter().chain(to_remove).collect();
    Ok((change, touched.into_iter().collect()))
}

/// Every member must be a user of the same connection.
async fn ensure_members(
    tx: &mut dyn StoreTx,
    connection: &ConnectionId,
    members: &[UserId],
) -> ProvisionResult<()> {
    for id in members {
        match tx.get_user(id).await? {
            Some(u) if &u.connection == connection => {}
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "member {:?} is not a user of this connection",
                    id.as_str()
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// A group and the first page of its members, read on one read handle that stays open
/// for the remaining pages ([`MemberPages`]): a caller can write a large member list out
/// page by page instead of holding it whole. The pages are the same statements on the same
/// handle as [`get_group`] with members runs, only read as they are needed.
pub async fn get_group_paged(
    store: &dyn Store,
    connection: &ConnectionId,
    id: &GroupId,
) -> ProvisionResult<(IdpGroup, Vec<UserId>, MemberPages)> {
    let mut read = store.read().await?;
    let group = owned_group(read.get_group(id).await?, connection, id)?;
    let first = read.list_group_members(id, None, MEMBER_PAGE).await?;
    let pages = MemberPages {
        done: first.len() < MEMBER_PAGE as usize,
        after: first.last().cloned(),
        read,
        group: id.clone(),
    };
    Ok((group, first, pages))
}

/// The pages of a group's members after the first, ordered by user id.
pub struct MemberPages {
    read: Box<dyn StoreRead>,
    group: GroupId,
    after: Option<UserId>,
    done: bool,
}

impl MemberPages {
    /// Whether every member has been read.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The next page (empty once every member has been read).
    pub async fn next_page(&mut self) -> ProvisionResult<Vec<UserId>> {
        if self.done {
            return Ok(Vec::new());
        }
        let page = self
            .read
            .list_group_members(&self.group, self.after.as_ref(), MEMBER_PAGE)
            .await?;
        self.done = page.len() < MEMBER_PAGE as usize;
        self.after = page.last().cloned();
        Ok(page)
    }
}

pub async fn all_members(read: &mut dyn StoreRead, id: &GroupId) -> ProvisionResult<Vec<UserId>> {
    let mut out = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = read
            .list_group_members(id, after.as_ref(), MEMBER_PAGE)
            .await?;
        let full = page.len() == MEMBER_PAGE as usize;
        after = page.last().cloned();
        out.extend(page);
        if !full {
            return Ok(out);
        }
    }
}

fn owned_group(
    group: Option<IdpGroup>,
    connection: &ConnectionId,
    id: &GroupId,
) -> ProvisionResult<IdpGroup> {
    match group {
        Some(g) if &g.connection == connection => Ok(g),
        _ => Err(not_found("Group", id.as_str())),
    }
}

fn ids(values: &[String]) -> Vec<UserId> {
    let set: BTreeSet<&String> = values.iter().collect();
    set.into_iter().map(|v| UserId::from(v.as_str())).collect()
}
