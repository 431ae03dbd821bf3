//! SCIM Users: create, read, replace (PUT), patch, delete.

use super::{
    Precondition, ProvisionResult, WriteContext, check_precondition, not_found, recompute,
};
use crate::domain::{ConnectionId, GroupId, User, UserId, UserState};
use crate::scim::patch::PatchRequest;
use crate::scim::resource::{self, UserWrite};
use crate::scim::schema::CoreSchema;
use crate::store::{Store, StoreRead, StoreTx};
use serde_json::json;

/// A user with the groups it belongs to (`(id, displayName)`), ready to render.
#[derive(Clone, Debug)]
pub struct UserView {
    pub user: User,
    pub groups: Vec<(GroupId, String)>,
}

pub async fn create_user(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    write: UserWrite,
) -> ProvisionResult<UserView> {
    let mut user = User::new(ctx.connection.clone(), write.user_name.clone(), ctx.now);
    apply_write(&mut user, write);
    let mut tx = store.begin().await?;
    tx.create_user(&user).await?;
    let event = ctx
        .audit("scim.user_created")
        .about(&user)
        .with_detail(json!({ "active": user.active, "external_id": user.external_id }));
    tx.append_audit(&event).await?;
    // A new user: reconciled from what this request holds, without reading it back.
    let cause = ctx.cause();
    let results =
        crate::reconcile::user_created(tx.as_mut(), ctx.policy, &user, &cause, ctx.now).await?;
    crate::reconcile::lifecycle::apply_lifecycle(
        tx.as_mut(),
        ctx.config,
        &results,
        &cause,
        ctx.now,
    )
    .await?;
    tx.commit().await?;
    Ok(UserView {
        user,
        groups: Vec::new(),
    })
}

pub async fn get_user(
    store: &dyn Store,
    connection: &ConnectionId,
    id: &UserId,
) -> ProvisionResult<UserView> {
    let mut read = store.read().await?;
    let (user, groups) = match read.get_user_with_groups(id).await? {
        Some((user, groups)) => (Some(user), groups),
        None => (None, Vec::new()),
    };
    let user = owned_user(user, connection, id)?;
    Ok(UserView { user, groups })
}

/// PUT: the body replaces every attribute the IdP manages.
pub async fn replace_user(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &UserId,
    write: UserWrite,
    precondition: Precondition<'_>,
) -> ProvisionResult<UserView> {
    let mut tx = store.begin().await?;
    let current = owned_user(tx.get_user_for_update(id).await?, ctx.connection, id)?;
    check_precondition(precondition, current.version)?;
    let was_active = current.active;
    let mut next = current.clone();
    apply_write(&mut next, write);
    finish_update(tx, ctx, current, next, was_active, "scim.user_replaced").await
}

/// PATCH: the operations are applied to the stored resource, all or none, and the result is
/// validated as a whole like a PUT body.
pub async fn patch_user(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &UserId,
    patch: &PatchRequest,
    precondition: Precondition<'_>,
    base_url: &str,
) -> ProvisionResult<UserView> {
    let mut tx = store.begin().await?;
    let current = owned_user(tx.get_user_for_update(id).await?, ctx.connection, id)?;
    check_precondition(precondition, current.version)?;
    let groups = groups_of(tx.as_mut(), id).await?;
    let rendered = resource::render_user(&current, &groups, base_url);
    let patched = crate::scim::patch::apply(patch, &rendered, &CoreSchema)?;
    let write = resource::parse_user(&patched)?;
    let was_active = current.active;
    let mut next = current.clone();
    apply_write(&mut next, write);
    finish_update(tx, ctx, current, next, was_active, "scim.user_patched").await
}

async fn finish_update(
    mut tx: Box<dyn StoreTx>,
    ctx: &WriteContext<'_>,
    current: User,
    mut next: User,
    was_active: bool,
    kind: &str,
) -> ProvisionResult<UserView> {
    next.updated_at = ctx.now;
    if ctx.policy.is_break_glass(&current.user_name)
        && !next.user_name.eq_ignore_ascii_case(&current.user_name)
    {
        // A rename would take the account out of removal.break_glass, and with it the
        // protection: the IdP could then deactivate or delete it.
        return Err(super::ProvisionError::Forbidden(format!(
            "{:?} is a break-glass account (removal.break_glass); the IdP may not rename it",
            current.user_name
        )));
    }
    let unchanged = next.user_name == current.user_name
        && next.external_id == current.external_id
        && next.active == current.active
        && next.email == current.email
        && next.display_name == current.display_name
        && next.given_name == current.given_name
        && next.family_name == current.family_name
        && next.scim == current.scim;
    let user = if unchanged {
        // Okta PUTs the whole user on every sync: an identical body is not a change.
        current
    } else {
        let user = tx.update_user(&next, current.version).await?;
        let mut detail = json!({});
        if was_active != user.active {
            detail["active"] = json!(user.active);
        }
        tx.append_audit(&ctx.audit(kind).about(&user).with_detail(detail))
            .await?;
        recompute(tx.as_mut(), ctx, std::slice::from_ref(&user.id)).await?;
        user
    };
    let groups = groups_of(tx.as_mut(), &user.id).await?;
    tx.commit().await?;
    Ok(UserView { user, groups })
}

/// DELETE: the user's access is removed (audited) and the record deleted; audit rows stay.
pub async fn delete_user(
    store: &dyn Store,
    ctx: &WriteContext<'_>,
    id: &UserId,
) -> ProvisionResult<()> {
    let mut tx = store.begin().await?;
    let mut user = owned_user(tx.get_user_for_update(id).await?, ctx.connection, id)?;
    if ctx.policy.is_break_glass(&user.user_name) {
        // DESIGN §2: break-glass accounts are never removed by IdP input. Refusing (rather
        // than answering 204 and keeping the user) keeps SCIM truthful: a later GET still
        // finds the user, and the IdP shows the operator why.
        tx.append_audit(
            &ctx.audit("scim.delete_refused")
                .about(&user)
                .with_detail(json!({ "reason": "break_glass" })),
        )
        .await?;
        tx.commit().await?;
        return Err(super::ProvisionError::Forbidden(
            "this is a break-glass account (removal.break_glass); idp-sync never removes it on IdP input".to_owned(),
        ));
    }
    let version = user.version;
    user.active = false;
    user.state = UserState::Removed;
    user.updated_at = ctx.now;
    let user = tx.update_user(&user, version).await?;
    recompute(tx.as_mut(), ctx, std::slice::from_ref(&user.id)).await?;
    tx.append_audit(&ctx.audit("scim.user_deleted").about(&user))
        .await?;
    // The user's memberships go with them: their groups change, so their versions (ETags)
    // move too.
    for group_id in tx.group_ids_of_user(id).await? {
        if let Some(group) = tx.get_group_for_update(&group_id).await? {
            let mut next = group.clone();
            next.updated_at = ctx.now;
            tx.update_group(&next, group.version).await?;
        }
    }
    tx.delete_user(id).await?;
    tx.commit().await?;
    Ok(())
}

fn apply_write(user: &mut User, write: UserWrite) {
    user.user_name = write.user_name;
    user.external_id = write.external_id;
    user.active = write.active;
    user.display_name = write.display_name;
    user.given_name = write.given_name;
    user.family_name = write.family_name;
    user.email = write.email;
    user.scim = write.resource;
}

/// A user of another connection is "not found": connections never see each other's data.
fn owned_user(user: Option<User>, connection: &ConnectionId, id: &UserId) -> ProvisionResult<User> {
    match user {
        Some(u) if &u.connection == connection => Ok(u),
        _ => Err(not_found("User", id.as_str())),
    }
}

/// The user's groups as `(id, displayName)`, ordered by id: one statement.
pub async fn groups_of(
    read: &mut dyn StoreRead,
    id: &UserId,
) -> ProvisionResult<Vec<(GroupId, String)>> {
    Ok(read.group_names_of_user(id).await?)
}
